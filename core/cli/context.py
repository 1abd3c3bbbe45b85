"""What every command's handler gets (the engine and the acting user), and the types a command group uses."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

from sqlalchemy import Engine

from core.model import Actor

if TYPE_CHECKING:
    Commands: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]  # what `register` adds commands to
else:
    Commands = argparse._SubParsersAction


@dataclass(frozen=True)
class Context:
    engine: Engine
    actor: Actor


Handler = Callable[[argparse.Namespace, Context], int]


def done(message: str) -> int:
    """Print what a command did; exit status 0."""
    print(message)
    return 0
