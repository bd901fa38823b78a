"""The Kubernetes-shaped building blocks of the ``LLMObservability`` spec, and its base model.

Label selectors, resource requirements, Secret key references and env vars are the same shapes
Kubernetes' own API uses; :mod:`llmobs_operator.spec` composes them into the CRD's spec.
"""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

# A Kubernetes quantity ("500m", "64Mi", 2): the API server accepts an int or a string.
Quantity = Annotated[
    int | str,
    Field(json_schema_extra={"x-kubernetes-int-or-string": True}),
]
ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
DNS_LABEL_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"


class _Model(BaseModel):
    """Base: camelCase aliases, unknown fields rejected (the API server prunes them anyway)."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )


class LabelSelectorRequirement(_Model):
    """One set-based requirement of a Kubernetes label selector."""

    key: str = Field(description="The label key the requirement applies to.", min_length=1)
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"] = Field(
        description="How the key relates to the values: In, NotIn, Exists or DoesNotExist."
    )
    values: list[str] = Field(
        default_factory=list,
        description="Values for In and NotIn (must be non-empty); empty for Exists/DoesNotExist.",
    )

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "self.operator in ['In', 'NotIn'] ? "
                    "(has(self.values) && size(self.values) > 0) : "
                    "(!has(self.values) || size(self.values) == 0)",
                    "message": "values must be non-empty for In/NotIn and empty for "
                    "Exists/DoesNotExist",
                }
            ]
        }
    )


class LabelSelector(_Model):
    """A Kubernetes label selector; every term must hold. An empty selector matches everything."""

    match_labels: dict[str, str] = Field(
        default_factory=dict, description="Labels that must be present with exactly these values."
    )
    match_expressions: list[LabelSelectorRequirement] = Field(
        default_factory=list, description="Set-based requirements; all must hold."
    )


class ResourceRequirements(_Model):
    """CPU and memory requests and limits of a container."""

    requests: dict[str, Quantity] = Field(
        default_factory=dict, description="Minimum resources, e.g. {cpu: 50m, memory: 64Mi}."
    )
    limits: dict[str, Quantity] = Field(
        default_factory=dict, description="Maximum resources, e.g. {cpu: 500m, memory: 256Mi}."
    )


class SecretKeyRef(_Model):
    """A key in a Secret in the resource's own namespace."""

    name: str = Field(description="Name of the Secret.", min_length=1, max_length=253)
    key: str = Field(description="Key within the Secret.", min_length=1)


class EnvVar(_Model):
    """An extra environment variable for instrumented containers (the app's own value wins)."""

    name: str = Field(description="Variable name.", pattern=ENV_NAME_PATTERN)
    value: str = Field(default="", description="Literal value.")
