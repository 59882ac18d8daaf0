"""Provider-compatibility test harness for OpenAI-compatible inference APIs.

The pipeline, one package per stage: ``schema`` (documented parameter surfaces) ->
``generation`` (request matrices) -> ``transport`` + ``engine`` (live, record, replay) ->
``checks`` (verdicts) -> ``reporting``. See ARCHITECTURE.md.
"""

__version__ = "0.1.0"
DISTRIBUTION = "provider-compat-harness"  # its name on the package index
