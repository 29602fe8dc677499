//! The policy's JSON Schema (draft 2020-12), for editors and CI. The loader stays the
//! authority (it checks what a schema cannot: regexes, conflicts between rules, AWS limits per
//! kind); the schema is committed as `policy.schema.json`, and a test keeps the two equal.

use super::PLACEHOLDERS;
use crate::domain::ResourceKind;
use serde_json::{json, Value};

/// The schema's `$id`.
pub const SCHEMA_ID: &str = "https://github.com/tag-warden/tag-warden/policy.schema.json";

/// The schema of a policy document, versions 1 and 2.
pub fn schema() -> Value {
    let globs = json!({"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}});
    let placeholders = PLACEHOLDERS
        .iter()
        .map(|p| format!("{{{p}}}"))
        .collect::<Vec<_>>()
        .join(", ");
    let kinds: Vec<&str> = ResourceKind::ALL.map(ResourceKind::as_str).to_vec();
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "tag-warden policy",
        "description": "Required and forbidden tags for Secrets Manager secrets and KMS keys. `tag-warden validate` checks more than this schema can (regular expressions, conflicts between rules, AWS limits per kind).",
        "type": "object",
        "additionalProperties": false,
        "required": ["rules"],
        "properties": {
            "version": {"enum": [1, 2], "description": "2 enables `match`, a rule's `mode` and placeholders in defaults."},
            "description": {"type": "string"},
            "mode": {"$ref": "#/$defs/mode"},
            "rules": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/rule"}},
            "waivers": {"type": "array", "items": {"$ref": "#/$defs/waiver"}, "description": "Version 2: chosen rules set aside for chosen resources through a day (UTC)."},
            "exemptions": {
                "type": "object",
                "additionalProperties": false,
                "description": "Version 2: who may exempt a resource with the tags tag-warden:exempt / tag-warden:exempt-until (trusted: a trusted principal or `tag-warden exempt`, as memory records; anyone; nobody), and how many days ahead exempt-until may run.",
                "properties": {
                    "set_by": {"enum": ["trusted", "anyone", "nobody"]},
                    "max_days": {"type": "integer", "minimum": 1, "maximum": 3650}
                }
            }
        },
        "$defs": {
            "mode": {"enum": ["enforce", "report"]},
            "waiver": {
                "type": "object",
                "additionalProperties": false,
                "required": ["until", "reason"],
                "properties": {
                    "match": {"$ref": "#/$defs/match"},
                    "rules": {"type": "array", "minItems": 1, "items": {"type": "string"}},
                    "until": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
                    "reason": {"type": "string", "minLength": 1}
                }
            },
            "rule": {
                "type": "object",
                "additionalProperties": false,
                "required": ["name"],
                "anyOf": [{"required": ["require"]}, {"required": ["forbid"]}, {"required": ["optional"]}],
                "properties": {
                    "name": {"type": "string", "minLength": 1},
                    "description": {"type": "string"},
                    "resources": {"type": "array", "minItems": 1, "uniqueItems": true, "items": {"enum": kinds}},
                    "mode": {"$ref": "#/$defs/mode", "description": "Version 2: enforce or report this rule's writes (a global report mode wins)."},
                    "match": {"$ref": "#/$defs/match"},
                    "require": {
                        "type": "object",
                        "propertyNames": {"minLength": 1, "maxLength": 128, "not": {"pattern": "^[aA][wW][sS]:"}},
                        "additionalProperties": {"$ref": "#/$defs/required"}
                    },
                    "optional": {
                        "type": "object",
                        "description": "Version 2: tags checked only when present; an invalid value is replaced by the default when there is one, else a violation.",
                        "propertyNames": {"minLength": 1, "maxLength": 128, "not": {"pattern": "^[aA][wW][sS]:"}},
                        "additionalProperties": {"$ref": "#/$defs/required"}
                    },
                    "fix_key_case": {"type": "boolean", "description": "Version 2: a tag whose key is a key this rule names but for case is renamed to it (or removed when the named key is there)."},
                    "forbid": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1, "not": {"pattern": "^[aA][wW][sS]:"}}}
                }
            },
            "required": {
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "default": {"type": "string", "maxLength": 256, "description": format!("Written when the tag is missing or invalid and nothing valid is remembered. Version 2 may derive it: {placeholders}.")},
                    "values": {"type": "array", "minItems": 1, "items": {"type": "string", "maxLength": 256}},
                    "pattern": {"type": "string", "description": "A regular expression, not anchored for you."},
                    "lock": {"type": "boolean", "description": "Keep the remembered value (needs memory)."}
                }
            },
            "match": {
                "type": "object",
                "additionalProperties": false,
                "description": "Version 2: every condition given must hold; inside a list, any one entry.",
                "properties": {
                    "names": globs.clone(),
                    "arns": globs.clone(),
                    "regions": globs,
                    "accounts": {"type": "array", "minItems": 1, "items": {"type": "string", "pattern": "^[0-9]{12}$"}},
                    "tags": {
                        "type": "object",
                        "additionalProperties": {
                            "oneOf": [
                                {"type": "string"},
                                {"type": "array", "minItems": 1, "items": {"type": "string"}},
                                {"type": "boolean"}
                            ]
                        }
                    }
                }
            }
        }
    })
}
