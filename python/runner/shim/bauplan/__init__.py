"""`import bauplan` inside bayou function environments: the same API as `bayou`."""

from bayou import *  # noqa: F401,F403
from bayou import Model, Parameter, expectation, model, python, resources, standard_expectations  # noqa: F401
