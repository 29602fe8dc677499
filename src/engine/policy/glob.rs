//! Case-sensitive key/ARN globs: `*` matches any run of characters, `?` exactly one.

use std::fmt;

/// A compiled glob. Matching is linear-time (no backtracking blow-up on hostile input).
#[derive(Clone, PartialEq, Eq)]
pub struct Glob {
    source: String,
    pattern: Vec<char>,
}

impl Glob {
    /// Compiles a glob; every string is a valid glob, so callers validate emptiness themselves.
    pub fn new(source: &str) -> Self {
        Glob {
            source: source.to_owned(),
            pattern: source.chars().collect(),
        }
    }

    /// The glob as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// True when the glob has no wildcard, so it matches exactly one string.
    pub fn is_literal(&self) -> bool {
        !self.pattern.iter().any(|c| matches!(c, '*' | '?'))
    }

    /// Whether some string could match both globs: false only when their literal prefixes (or
    /// suffixes, before the first / after the last wildcard) differ, so no string has both.
    pub fn can_meet(&self, other: &Glob) -> bool {
        let wild = |c: &char| matches!(c, '*' | '?');
        let prefix = |p: &[char]| p.iter().take_while(|c| !wild(c)).copied().collect::<Vec<_>>();
        let suffix = |p: &[char]| {
            let mut s: Vec<char> = p.iter().rev().take_while(|c| !wild(c)).copied().collect();
            s.reverse();
            s
        };
        let compatible = |a: &[char], b: &[char], from_end: bool| {
            let n = a.len().min(b.len());
            if from_end {
                a.get(a.len() - n..) == b.get(b.len() - n..)
            } else {
                a.get(..n) == b.get(..n)
            }
        };
        if self.is_literal() && other.is_literal() {
            return self.pattern == other.pattern;
        }
        if self.is_literal() {
            return other.matches(&self.source);
        }
        if other.is_literal() {
            return self.matches(&other.source);
        }
        compatible(&prefix(&self.pattern), &prefix(&other.pattern), false)
            && compatible(&suffix(&self.pattern), &suffix(&other.pattern), true)
    }

    /// Whether `text` matches the whole glob.
    pub fn matches(&self, text: &str) -> bool {
        let text: Vec<char> = text.chars().collect();
        let (mut p, mut t) = (0usize, 0usize);
        // Position of the last `*` seen and the text position it was tried at.
        let mut star: Option<(usize, usize)> = None;
        while t < text.len() {
            match (self.pattern.get(p), text.get(t)) {
                (Some('*'), _) => {
                    star = Some((p, t));
                    p += 1;
                }
                (Some('?'), _) => {
                    p += 1;
                    t += 1;
                }
                (Some(pc), Some(tc)) if pc == tc => {
                    p += 1;
                    t += 1;
                }
                _ => match star {
                    Some((sp, st)) => {
                        p = sp + 1;
                        t = st + 1;
                        star = Some((sp, st + 1));
                    }
                    None => return false,
                },
            }
        }
        self.pattern.get(p..).is_some_and(|rest| rest.iter().all(|c| *c == '*'))
    }
}

impl fmt::Debug for Glob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Glob({:?})", self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::Glob;

    #[test]
    fn globs_with_different_literal_prefixes_or_suffixes_never_meet() {
        let g = |s: &str| Glob::new(s);
        assert!(!g("prod/*").can_meet(&g("dev/*")));
        assert!(g("prod/*").can_meet(&g("prod/payments/*")));
        assert!(g("prod/*").can_meet(&g("*")));
        assert!(!g("*-eu").can_meet(&g("*-us")));
        assert!(g("prod/db").can_meet(&g("prod/*")));
        assert!(!g("prod/db").can_meet(&g("dev/*")));
        assert!(!g("a").can_meet(&g("b")));
    }

    #[test]
    fn star_matches_any_run_including_none() {
        let g = Glob::new("temp*");
        assert!(g.matches("temp"));
        assert!(g.matches("temp-debug"));
        assert!(!g.matches("Temp"));
        assert!(!g.matches("atemp"));
    }

    #[test]
    fn question_mark_matches_exactly_one_char() {
        let g = Glob::new("env?");
        assert!(g.matches("env1"));
        assert!(g.matches("envé"));
        assert!(!g.matches("env"));
        assert!(!g.matches("env12"));
    }

    #[test]
    fn literal_globs_match_only_themselves_case_sensitively() {
        let g = Glob::new("Debug");
        assert!(g.is_literal());
        assert!(g.matches("Debug"));
        assert!(!g.matches("debug"));
        assert!(!g.matches("Debugger"));
    }

    #[test]
    fn stars_in_the_middle_backtrack() {
        let g = Glob::new("arn:aws:sts::*:assumed-role/*/ci-*");
        assert!(g.matches("arn:aws:sts::123456789012:assumed-role/deployer/ci-42"));
        assert!(!g.matches("arn:aws:sts::123456789012:assumed-role/deployer/cd-42"));
        assert!(Glob::new("*a*b*").matches("xxaxxbxx"));
        assert!(!Glob::new("*a*b").matches("xxaxxbxx"));
    }

    #[test]
    fn hostile_patterns_finish_quickly() {
        let g = Glob::new(&"*a".repeat(50));
        let text = "a".repeat(10_000) + "b";
        assert!(!g.matches(&text));
    }
}
