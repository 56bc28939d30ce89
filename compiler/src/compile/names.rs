//! IR names as kfp 2.17 makes them.

use std::collections::HashMap;

/// kfp's `maybe_rename_for_k8s`: lower case, runs of characters outside `[-0-9a-z]` become one
/// `-`, runs of `-` collapse, no leading or trailing `-`.
pub fn sanitize_k8s_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars().flat_map(char::to_lowercase) {
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() { c } else { '-' };
        if !(c == '-' && out.ends_with('-')) {
            out.push(c);
        }
    }
    out.trim_matches('-').to_owned()
}

/// Hands out `name`, `name-2`, `name-3`, ... as kfp does for reused names.
///
/// Counts per base name, so each call is O(1) where kfp rescans (its naming is quadratic).
#[derive(Default)]
pub struct UniqueNames {
    used: HashMap<String, usize>,
}

impl UniqueNames {
    pub fn claim(&mut self, base: &str) -> String {
        let mut count = *self.used.get(base).unwrap_or(&0);
        loop {
            count += 1;
            let candidate = if count == 1 { base.to_owned() } else { format!("{base}-{count}") };
            // A suffixed name can collide with a base that really ends in `-N`.
            if count == 1 || !self.used.contains_key(&candidate) {
                self.used.insert(base.to_owned(), count);
                if count > 1 {
                    self.used.entry(candidate.clone()).or_insert(1);
                }
                return candidate;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitizes_like_kfp() {
        assert_eq!(sanitize_k8s_name("load_data"), "load-data");
        assert_eq!(sanitize_k8s_name("My Pipeline_x"), "my-pipeline-x");
        assert_eq!(sanitize_k8s_name("__Train--Model__"), "train-model");
        assert_eq!(sanitize_k8s_name("étape 2"), "tape-2");
    }

    #[test]
    fn reused_names_get_suffixes() {
        let mut names = UniqueNames::default();
        assert_eq!(names.claim("train"), "train");
        assert_eq!(names.claim("train"), "train-2");
        assert_eq!(names.claim("train"), "train-3");
        assert_eq!(names.claim("eval"), "eval");
    }

    #[test]
    fn suffixes_skip_names_taken_by_other_bases() {
        let mut names = UniqueNames::default();
        assert_eq!(names.claim("a-2"), "a-2");
        assert_eq!(names.claim("a"), "a");
        assert_eq!(names.claim("a"), "a-3");
        assert_eq!(names.claim("a-2"), "a-2-2");
    }
}
