"""A machine's out-of-service indicator: an LED on a GPIO pin, lit while it is out of service.

Like the door switches it asks a gpiozero pin factory for its pin (the Pi's, or the mock
factory in tests and the simulator), so tests read the mock pin's level, not a mock object.
"""

from __future__ import annotations

from gpiozero import LED
from gpiozero.exc import GPIOZeroError
from gpiozero.pins import Factory

from edge.errors import GpioUnavailable


class ServiceIndicator:
    """``show(out_of_service)`` lights or dims the LED; ``close()`` releases the pin."""

    def __init__(self, machine_id: str, pin: int, *, pin_factory: Factory | None = None) -> None:
        self.machine_id = machine_id
        try:
            self._led = LED(pin, pin_factory=pin_factory)
        except (GPIOZeroError, OSError) as exc:
            raise GpioUnavailable(f"indicator LED of {machine_id} on GPIO {pin}: {exc}") from exc

    def show(self, out_of_service: bool) -> None:
        if out_of_service:
            self._led.on()
        else:
            self._led.off()

    @property
    def lit(self) -> bool:
        return bool(self._led.is_lit)

    def close(self) -> None:
        self._led.close()
