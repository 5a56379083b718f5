"""Order state machines as data: one definition per order type (see ``definitions``)."""

from centers.order.machine.definitions import MACHINES, machine_for
from centers.order.machine.model import Actor, Machine, StatusView, Transition

__all__ = ["MACHINES", "Actor", "Machine", "StatusView", "Transition", "machine_for"]
