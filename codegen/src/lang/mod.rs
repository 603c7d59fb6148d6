//! Clients in other languages: one module per target language.
//!
//! Every language reads the same language-neutral [`ServiceView`] and owns
//! everything that is its own: how names are spelt (and which words it
//! reserves), how a [`Ty`](crate::view::Ty) is written as one of its types,
//! its template view model, its templates and their helpers, and the files
//! its client is published as. Adding a language is adding a module here
//! that implements [`Language`] and listing it in [`all`]; nothing else in
//! the CLI knows which languages there are.

pub mod python;
pub mod typescript;

use std::collections::BTreeMap;

use anyhow::{bail, Result};

use crate::templates::{TemplateSet, Templates};
use crate::view::ServiceView;

/// A target language of the published clients.
pub trait Language: Sync {
    /// Its name on the command line (`--lang`) and its templates' folder:
    /// `typescript`, `python`.
    fn name(&self) -> &'static str;

    /// Its name for people: `TypeScript`, `Python`.
    fn title(&self) -> &'static str;

    /// Its templates, with their built-in text.
    fn templates(&self) -> &'static TemplateSet;

    /// Problems with the contract's type names in this language, such as
    /// two schema names that are one name once made identifiers. Each
    /// problem is one sentence naming the types.
    fn check_type_names(&self, names: &[&str]) -> Vec<String>;

    /// Renders the client of `service` with `templates`.
    fn render(&self, service: &ServiceView, templates: &Templates) -> Result<Client>;
}

/// A client rendered for one service version.
#[derive(Debug, Clone)]
pub struct Client {
    /// Path below the service folder (with `/`) -> contents.
    pub files: BTreeMap<String, String>,
    /// The file or folder a reader opens first (`client.ts`, `python/`).
    pub entry: String,
    /// How each request operation is called, by operation name
    /// (`placeOrder()`, `place_order()`).
    pub calls: BTreeMap<String, String>,
}

/// Every language accord publishes clients in, in the order they are
/// rendered and listed.
pub fn all() -> &'static [&'static dyn Language] {
    &[&typescript::TypeScript, &python::Python]
}

/// The languages named in `names` (each once, in [`all`]'s order), or
/// every language when `names` is empty.
pub fn select(names: &[String]) -> Result<Vec<&'static dyn Language>> {
    for name in names {
        if !all().iter().any(|l| l.name() == name) {
            bail!(
                "accord has no client language `{name}`; the languages are: {}",
                all()
                    .iter()
                    .map(|l| l.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    Ok(all()
        .iter()
        .copied()
        .filter(|l| names.is_empty() || names.iter().any(|n| n == l.name()))
        .collect())
}

/// Names that two schema names share once `convert` made them names of a
/// language: one problem per shared name, naming `language`.
pub fn shared_names(
    names: &[&str],
    language: &str,
    convert: impl Fn(&str) -> String,
) -> Vec<String> {
    let mut by_name: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for name in names {
        by_name.entry(convert(name)).or_default().push(name);
    }
    by_name
        .iter()
        .filter(|(_, n)| n.len() > 1)
        .map(|(converted, names)| {
            let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
            format!(
                "The type names {} are all `{converted}` in {language}.",
                crate::names::join_and(&quoted)
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_are_selected_by_name_in_a_fixed_order() {
        let names = |list: &[&str]| {
            let list: Vec<String> = list.iter().map(|s| (*s).to_owned()).collect();
            select(&list)
                .unwrap()
                .iter()
                .map(|l| l.name())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&[]), ["typescript", "python"]);
        assert_eq!(names(&["python", "typescript"]), ["typescript", "python"]);
        assert_eq!(names(&["python"]), ["python"]);
        let error = match select(&["rust".to_owned()]) {
            Ok(_) => panic!("an unknown language is refused"),
            Err(error) => error.to_string(),
        };
        assert!(
            error.contains("`rust`") && error.contains("typescript, python"),
            "{error}"
        );
    }
}
