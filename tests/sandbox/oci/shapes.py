"""The compute shapes the sandbox knows, with the OCPU/memory limits OCI enforces."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ApiError, invalid


@dataclass(frozen=True)
class Shape:
    name: str
    flex: bool
    min_ocpus: float = 1
    max_ocpus: float = 1
    max_memory_per_ocpu: float = 64
    min_memory_per_ocpu: float = 1
    max_memory: float = 1024
    # Fixed shapes only: their one configuration.
    ocpus: float = 0
    memory_gbs: float = 0


def limit_family(shape: str) -> str:
    """The prefix of a shape's compute limit names: VM.Standard.E4.Flex -> standard-e4 (standard-e4-core-count)."""
    return shape.lower().replace("vm.", "").replace(".flex", "").replace(".", "-")


# Limits from the OCI compute shapes reference (docs: Compute/References/computeshapes).
SHAPES = {
    s.name: s
    for s in (
        Shape("VM.Standard.E3.Flex", True, 1, 64, 64, 1, 1024),
        Shape("VM.Standard.E4.Flex", True, 1, 64, 64, 1, 1024),
        Shape("VM.Standard.E5.Flex", True, 1, 94, 64, 1, 1049),
        Shape("VM.Standard3.Flex", True, 1, 32, 64, 1, 512),
        Shape("VM.Standard.A1.Flex", True, 1, 80, 64, 1, 512),
        Shape("VM.Standard2.1", False, ocpus=1, memory_gbs=15),
        Shape("VM.Standard2.2", False, ocpus=2, memory_gbs=30),
        Shape("VM.Standard2.4", False, ocpus=4, memory_gbs=60),
        Shape("VM.Standard2.8", False, ocpus=8, memory_gbs=120),
    )
}


def resolve(shape_name: str | None, shape_config: dict | None, field: str = "shape") -> tuple[Shape, float, float]:
    """Return (shape, ocpus, memoryInGBs) for a request, or raise the 400/404 OCI answers."""
    if not shape_name:
        raise ApiError(400, "MissingParameter", f"Missing required parameter: {field}")
    shape = SHAPES.get(shape_name)
    if shape is None:
        raise ApiError(404, "NotAuthorizedOrNotFound", f"Shape {shape_name} not found")
    config = shape_config or {}
    if not shape.flex:
        return shape, shape.ocpus, shape.memory_gbs
    ocpus = config.get("ocpus")
    if ocpus is None:
        raise ApiError(400, "InvalidParameter", f"{field}Config.ocpus is required for flexible shape {shape_name}")
    if not shape.min_ocpus <= ocpus <= shape.max_ocpus:
        raise invalid(f"{field}Config.ocpus", f"{ocpus} is outside {shape.min_ocpus}-{shape.max_ocpus} for {shape_name}")
    memory = config.get("memoryInGBs")
    if memory is None:
        memory = ocpus * 16  # OCI's default for the E-series flex shapes.
    if memory > shape.max_memory or memory > ocpus * shape.max_memory_per_ocpu or memory < ocpus * shape.min_memory_per_ocpu:
        high = min(shape.max_memory, ocpus * shape.max_memory_per_ocpu)
        raise invalid(f"{field}Config.memoryInGBs", f"{memory} GB is outside {ocpus * shape.min_memory_per_ocpu}-{high} GB for {ocpus} OCPUs of {shape_name}")
    return shape, float(ocpus), float(memory)
