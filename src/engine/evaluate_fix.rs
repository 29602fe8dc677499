//! How the plan fixes a required or optional key's value ([`Fix`]), and where a value it sets
//! comes from ([`ValueSource`]).

use crate::domain::ResourceContext;
use crate::engine::policy::Template;
use serde::Serialize;

/// Where a value the plan writes comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ValueSource {
    /// The value remembered for this resource (still valid under the policy).
    Remembered,
    /// The rule's `default`.
    Default,
}

/// How the plan fixes a required or optional key's missing or invalid value. Serialized as a
/// finding's `set` (the value, or null), `from` and `note` fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fix {
    /// The plan sets `value`, taken from `from`.
    Set {
        /// The value set.
        value: String,
        /// Where it comes from.
        from: ValueSource,
    },
    /// Nothing to set, so it cannot be fixed automatically: why, when the rule's default gives
    /// no valid value here (`None`: the rule has no default).
    Manual(Option<String>),
}

impl Fix {
    /// The fix a rule's default gives: its value when it renders to one `valid` accepts, else
    /// why not.
    pub(in crate::engine) fn by_default(
        default: Option<&Template>,
        ctx: &ResourceContext,
        valid: impl Fn(&str) -> bool,
    ) -> Fix {
        let Some(template) = default else {
            return Fix::Manual(None);
        };
        match template.render(ctx) {
            Ok(value) if valid(&value) => Fix::Set {
                value,
                from: ValueSource::Default,
            },
            Ok(value) => Fix::Manual(Some(format!(
                "the default `{}` gives `{value}`, which is not valid here",
                template.as_str()
            ))),
            Err(why) => Fix::Manual(Some(format!(
                "the default `{}` cannot be derived: {why}",
                template.as_str()
            ))),
        }
    }

    /// The value the plan sets, if any.
    pub fn value(&self) -> Option<&str> {
        match self {
            Fix::Set { value, .. } => Some(value),
            Fix::Manual(_) => None,
        }
    }

    /// The reason's closing words: what the fix is, or why there is none.
    pub(super) fn describe(&self) -> String {
        match self {
            Fix::Set {
                value,
                from: ValueSource::Remembered,
            } => format!("fix: set `{value}` (the remembered value)"),
            Fix::Set { value, .. } => format!("fix: set `{value}` (the default)"),
            Fix::Manual(Some(note)) => format!("{note}, so it cannot be fixed automatically"),
            Fix::Manual(None) => "no default, so it cannot be fixed automatically".to_owned(),
        }
    }
}

/// The `set`, `from` and `note` fields reports have always carried.
impl Serialize for Fix {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        match self {
            Fix::Set { value, from } => {
                map.serialize_entry("set", value)?;
                map.serialize_entry("from", from)?;
            }
            Fix::Manual(note) => {
                map.serialize_entry("set", &None::<String>)?;
                if let Some(note) = note {
                    map.serialize_entry("note", note)?;
                }
            }
        }
        map.end()
    }
}
