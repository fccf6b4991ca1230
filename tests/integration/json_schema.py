"""A JSON Schema validator for the subset docs/json/*.schema.json use
(python3 standard library only): type (a name or a list), properties,
required, additionalProperties (a bool), items, enum, const, pattern,
minLength, minimum, $ref (another file in the same directory), allOf and
anyOf. An unknown keyword is an error, so a schema cannot silently use more
than this checks."""
import json
import os
import re

KNOWN = {"$schema", "title", "description", "type", "properties", "required",
         "additionalProperties", "items", "enum", "const", "pattern", "minLength", "minimum",
         "$ref", "allOf", "anyOf"}

TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


class Schemas:
    def __init__(self, directory):
        self.directory = directory
        self._cache = {}

    def load(self, name):
        if name not in self._cache:
            with open(os.path.join(self.directory, name)) as f:
                self._cache[name] = json.load(f)
        return self._cache[name]

    def errors(self, value, schema, where="$"):
        """Every way `value` breaks `schema` (a dict or a file name), as strings."""
        if isinstance(schema, str):
            schema = self.load(schema)
        unknown = set(schema) - KNOWN
        if unknown:
            return [f"{where}: the schema uses unsupported keywords {sorted(unknown)}"]
        out = []
        if "$ref" in schema:
            out += self.errors(value, schema["$ref"], where)
        for sub in schema.get("allOf", []):
            out += self.errors(value, sub, where)
        if "anyOf" in schema:
            tries = [self.errors(value, sub, where) for sub in schema["anyOf"]]
            if all(tries):
                out.append(f"{where}: matches none of anyOf: " + " | ".join(t[0] for t in tries))
        if "type" in schema:
            types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            if not any(TYPES[t](value) for t in types):
                return out + [f"{where}: {value!r} is not of type {types}"]
        if "const" in schema and value != schema["const"]:
            out.append(f"{where}: {value!r} is not {schema['const']!r}")
        if "enum" in schema and value not in schema["enum"]:
            out.append(f"{where}: {value!r} is not one of {schema['enum']}")
        if isinstance(value, str):
            if "pattern" in schema and not re.search(schema["pattern"], value):
                out.append(f"{where}: {value!r} does not match {schema['pattern']}")
            if len(value) < schema.get("minLength", 0):
                out.append(f"{where}: {value!r} is shorter than {schema['minLength']}")
        if TYPES["number"](value) and "minimum" in schema and value < schema["minimum"]:
            out.append(f"{where}: {value} is below {schema['minimum']}")
        if isinstance(value, dict):
            props = schema.get("properties", {})
            for key in schema.get("required", []):
                if key not in value:
                    out.append(f"{where}: missing {key!r}")
            for key, item in value.items():
                if key in props:
                    out += self.errors(item, props[key], f"{where}.{key}")
                elif schema.get("additionalProperties", True) is False:
                    out.append(f"{where}: unexpected field {key!r}")
        if isinstance(value, list) and "items" in schema:
            for i, item in enumerate(value):
                out += self.errors(item, schema["items"], f"{where}[{i}]")
        return out
