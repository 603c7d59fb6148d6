//! Reading a crate's source for its service traits and schema types.
//!
//! Starting at the library root, every file is parsed with syn and every
//! `mod` declaration followed (`name.rs`, `name/mod.rs`, `#[path]`, inline
//! modules), skipping `#[cfg(test)]` modules. A trait is a service when one
//! of its attributes is `#[accord::service]` (through the name the crate
//! uses for accord) or a name imported from it (`use accord::service;`,
//! `use accord::*;`).
//!
//! The exporter names each service's marker type from outside the crate, so
//! it needs a public path to it: the module path when every module on it is
//! `pub`, or else a `pub use` re-export (followed through other re-exports
//! and globs). Items produced by macros other than `#[accord::service]`
//! itself are not visible to this scan.
//!
//! The types deriving `JsonSchema` are recorded with the schema name each
//! declares, so a name schemars had to number (`Status2`) can be told from
//! a type that is really called that (see [`crate::names`]).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use syn::punctuated::Punctuated;
use syn::{Attribute, Item, Meta, Token, UseTree, Visibility};

/// A `#[accord::service]` trait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceTrait {
    /// The trait's (and so the marker type's) name.
    pub ident: String,
    /// The source file declaring it.
    pub file: PathBuf,
    /// Module path and name where it is declared, from the crate root.
    pub declared_path: Vec<String>,
    /// A path from the crate root that other crates can name.
    pub public_path: Vec<String>,
}

/// A type that derives `JsonSchema`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaType {
    /// `crate_name::module::Type`.
    pub rust_path: String,
    /// The source file declaring it.
    pub file: PathBuf,
    /// The schema name it declares: `#[schemars(rename)]`, else serde's
    /// deserialize name, else the type's name. May hold `{T}` placeholders.
    pub schema_name: String,
    /// Whether the type has type or const parameters.
    pub generic: bool,
}

/// What [`scan_crate`] found.
#[derive(Debug, Clone, Default)]
pub struct Scanned {
    /// Service traits, in source order.
    pub services: Vec<ServiceTrait>,
    /// Types deriving `JsonSchema`, in source order.
    pub schema_types: Vec<SchemaType>,
}

/// Scans the library whose root file is `lib_src`. `accord` is the name
/// the crate's code uses for the accord crate.
pub fn scan_crate(lib_src: &Path, crate_name: &str, accord: &str) -> Result<Scanned> {
    let mut walker = Walker {
        crate_name: crate_name.to_owned(),
        accord: accord.to_owned(),
        modules: BTreeMap::new(),
        traits: Vec::new(),
        schema_types: Vec::new(),
        visited: BTreeSet::new(),
    };
    walker.modules.insert(Vec::new(), ModuleInfo::root());
    let dir = lib_src.parent().unwrap_or(Path::new(".")).to_path_buf();
    walker.walk_file(lib_src, Vec::new(), dir)?;

    let mut services = Vec::new();
    for found in &walker.traits {
        let display = found.path.join("::");
        if !found.public {
            bail!(
                "service trait `{}` ({}) is not `pub`: accord's exporter reads its contract \
                 from outside the crate; declare it `pub trait {}`",
                display,
                found.file.display(),
                found.ident
            );
        }
        let Some(public_path) = walker.public_path(&found.path) else {
            let private = walker.first_private_module(&found.path).unwrap_or_default();
            bail!(
                "service trait `{display}` ({}) cannot be reached from outside the crate: \
                 module `{}` is private. Make it `pub mod`, or re-export the trait from a \
                 public module (`pub use {display};` in lib.rs)",
                found.file.display(),
                private.join("::"),
            );
        };
        services.push(ServiceTrait {
            ident: found.ident.clone(),
            file: found.file.clone(),
            declared_path: found.path.clone(),
            public_path,
        });
    }
    Ok(Scanned {
        services,
        schema_types: walker.schema_types,
    })
}

#[derive(Debug)]
struct ModuleInfo {
    /// Declared `pub` (the crate root counts as public).
    public: bool,
    /// `pub use` leaves declared in the module.
    reexports: Vec<UseLeaf>,
}

impl ModuleInfo {
    fn root() -> Self {
        ModuleInfo {
            public: true,
            reexports: Vec::new(),
        }
    }
}

/// One imported name of a `use` tree.
#[derive(Debug, Clone, PartialEq, Eq)]
struct UseLeaf {
    /// The path named, without a leading `::`.
    target: Vec<String>,
    /// The name it is imported as; `None` for a glob (`target::*`).
    name: Option<String>,
}

#[derive(Debug)]
struct FoundTrait {
    ident: String,
    path: Vec<String>,
    file: PathBuf,
    public: bool,
}

struct Walker {
    crate_name: String,
    accord: String,
    modules: BTreeMap<Vec<String>, ModuleInfo>,
    traits: Vec<FoundTrait>,
    schema_types: Vec<SchemaType>,
    visited: BTreeSet<PathBuf>,
}

impl Walker {
    /// Parses `file` as the module `module`; `dir` is where its child
    /// modules' files live.
    fn walk_file(&mut self, file: &Path, module: Vec<String>, dir: PathBuf) -> Result<()> {
        let canonical = file.canonicalize().unwrap_or_else(|_| file.to_path_buf());
        if !self.visited.insert(canonical) {
            return Ok(());
        }
        let source = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read `{}`", file.display()))?;
        let parsed = syn::parse_file(&source).map_err(|e| {
            let start = e.span().start();
            anyhow::anyhow!(
                "cannot parse `{}` (line {}, column {}): {e}",
                file.display(),
                start.line,
                start.column + 1
            )
        })?;
        self.walk_items(&parsed.items, &module, file, &dir, false)
    }

    fn walk_items(
        &mut self,
        items: &[Item],
        module: &[String],
        file: &Path,
        dir: &Path,
        inline: bool,
    ) -> Result<()> {
        let service_names = self.service_names(items);
        for item in items {
            match item {
                Item::Use(item_use) => {
                    if matches!(item_use.vis, Visibility::Public(_)) {
                        let mut leaves = Vec::new();
                        flatten_use(&item_use.tree, &mut Vec::new(), &mut leaves);
                        if let Some(info) = self.modules.get_mut(module) {
                            info.reexports.extend(leaves);
                        }
                    }
                }
                Item::Trait(item_trait)
                    if item_trait
                        .attrs
                        .iter()
                        .any(|a| self.is_service_attr(a, &service_names)) =>
                {
                    let mut path = module.to_vec();
                    path.push(item_trait.ident.to_string());
                    self.traits.push(FoundTrait {
                        ident: item_trait.ident.to_string(),
                        path,
                        file: file.to_path_buf(),
                        public: matches!(item_trait.vis, Visibility::Public(_)),
                    });
                }
                Item::Struct(s) => {
                    self.schema_type(&s.attrs, &s.ident, &s.generics, module, file);
                }
                Item::Enum(e) => {
                    self.schema_type(&e.attrs, &e.ident, &e.generics, module, file);
                }
                Item::Mod(item_mod) => {
                    if is_cfg_test(&item_mod.attrs) {
                        continue;
                    }
                    let name = item_mod.ident.to_string();
                    let mut child = module.to_vec();
                    child.push(name.clone());
                    self.modules.insert(
                        child.clone(),
                        ModuleInfo {
                            public: matches!(item_mod.vis, Visibility::Public(_)),
                            reexports: Vec::new(),
                        },
                    );
                    let path_attr = path_attribute(&item_mod.attrs);
                    if let Some((_, content)) = &item_mod.content {
                        let child_dir = match &path_attr {
                            Some(p) => dir.join(p),
                            None => dir.join(&name),
                        };
                        self.walk_items(content, &child, file, &child_dir, true)?;
                        continue;
                    }
                    let base = if inline {
                        dir.to_path_buf()
                    } else {
                        file.parent().unwrap_or(Path::new(".")).to_path_buf()
                    };
                    let (child_file, child_dir) = match path_attr {
                        // A file named by #[path] owns its folder like a mod.rs.
                        Some(p) => {
                            let f = if inline { dir.join(&p) } else { base.join(&p) };
                            let d = f.parent().unwrap_or(Path::new(".")).to_path_buf();
                            (f, d)
                        }
                        None => {
                            let flat = dir.join(format!("{name}.rs"));
                            let nested = dir.join(&name).join("mod.rs");
                            if flat.is_file() {
                                (flat, dir.join(&name))
                            } else {
                                (nested, dir.join(&name))
                            }
                        }
                    };
                    if !child_file.is_file() {
                        // Left to the compiler: a module behind a #[cfg] may
                        // legitimately be missing, and otherwise rustc says
                        // it better.
                        continue;
                    }
                    self.walk_file(&child_file, child, child_dir)?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The names under which `#[accord::service]` is imported by `items`.
    fn service_names(&self, items: &[Item]) -> BTreeSet<String> {
        let mut names = BTreeSet::new();
        for item in items {
            let Item::Use(item_use) = item else { continue };
            let mut leaves = Vec::new();
            flatten_use(&item_use.tree, &mut Vec::new(), &mut leaves);
            for leaf in leaves {
                match &leaf.name {
                    Some(name) if leaf.target == [self.accord.as_str(), "service"] => {
                        names.insert(name.clone());
                    }
                    None if leaf.target == [self.accord.as_str()] => {
                        names.insert("service".to_owned());
                    }
                    _ => {}
                }
            }
        }
        names
    }

    fn is_service_attr(&self, attr: &Attribute, imported: &BTreeSet<String>) -> bool {
        let segments: Vec<String> = attr
            .path()
            .segments
            .iter()
            .map(|s| s.ident.to_string())
            .collect();
        match segments.as_slice() {
            [krate, name] => *krate == self.accord && name == "service",
            [name] => imported.contains(name),
            _ => false,
        }
    }

    fn schema_type(
        &mut self,
        attrs: &[Attribute],
        ident: &syn::Ident,
        generics: &syn::Generics,
        module: &[String],
        file: &Path,
    ) {
        if !derives_json_schema(attrs) {
            return;
        }
        let mut rust_path = vec![self.crate_name.clone()];
        rust_path.extend(module.iter().cloned());
        rust_path.push(ident.to_string());
        let schema_name = declared_schema_name(attrs).unwrap_or_else(|| ident.to_string());
        let generic =
            generics.type_params().next().is_some() || generics.const_params().next().is_some();
        self.schema_types.push(SchemaType {
            rust_path: rust_path.join("::"),
            file: file.to_path_buf(),
            schema_name,
            generic,
        });
    }

    /// Resolves a `use` path written in `module` to a path from the crate
    /// root; `None` for paths into other crates.
    fn resolve(&self, module: &[String], target: &[String]) -> Option<Vec<String>> {
        let (first, rest) = target.split_first()?;
        match first.as_str() {
            "crate" => Some(rest.to_vec()),
            "self" => Some([module, rest].concat()),
            "super" => {
                let mut base = module.to_vec();
                base.pop()?;
                let mut rest = rest;
                while let Some(("super", more)) = rest.split_first().map(|(f, m)| (f.as_str(), m)) {
                    base.pop()?;
                    rest = more;
                }
                Some([base.as_slice(), rest].concat())
            }
            _ => {
                let mut child = module.to_vec();
                child.push(first.clone());
                self.modules
                    .contains_key(&child)
                    .then(|| [module, target].concat())
            }
        }
    }

    /// The shortest path from the crate root, through public modules and
    /// `pub use` re-exports, to the item declared at `declared`.
    fn public_path(&self, declared: &[String]) -> Option<Vec<String>> {
        let mut known: BTreeSet<Vec<String>> = BTreeSet::from([declared.to_vec()]);
        // Each round follows one more level of re-exports.
        for _ in 0..16 {
            let mut added = Vec::new();
            for (module, info) in &self.modules {
                for leaf in &info.reexports {
                    let Some(target) = self.resolve(module, &leaf.target) else {
                        continue;
                    };
                    match &leaf.name {
                        Some(name) => {
                            if known.contains(&target) {
                                added
                                    .push([module.as_slice(), std::slice::from_ref(name)].concat());
                            }
                        }
                        None => {
                            for path in &known {
                                if let Some((last, parent)) = path.split_last() {
                                    if parent == target.as_slice() {
                                        added.push(
                                            [module.as_slice(), std::slice::from_ref(last)]
                                                .concat(),
                                        );
                                    }
                                }
                            }
                        }
                    }
                }
            }
            let before = known.len();
            known.extend(added);
            if known.len() == before {
                break;
            }
        }
        known
            .into_iter()
            .filter(|path| self.first_private_module(path).is_none())
            .min_by(|a, b| (a.len(), a).cmp(&(b.len(), b)))
    }

    /// The first module on the way to `path` that is not public.
    fn first_private_module(&self, path: &[String]) -> Option<Vec<String>> {
        (1..path.len())
            .map(|i| path[..i].to_vec())
            .find(|module| self.modules.get(module).is_none_or(|info| !info.public))
    }
}

fn flatten_use(tree: &UseTree, prefix: &mut Vec<String>, leaves: &mut Vec<UseLeaf>) {
    match tree {
        UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            flatten_use(&p.tree, prefix, leaves);
            prefix.pop();
        }
        UseTree::Name(n) => {
            let name = n.ident.to_string();
            if name == "self" {
                if let Some(last) = prefix.last() {
                    leaves.push(UseLeaf {
                        target: prefix.clone(),
                        name: Some(last.clone()),
                    });
                }
            } else {
                let mut target = prefix.clone();
                target.push(name.clone());
                leaves.push(UseLeaf {
                    target,
                    name: Some(name),
                });
            }
        }
        UseTree::Rename(r) => {
            let mut target = prefix.clone();
            if r.ident != "self" {
                target.push(r.ident.to_string());
            }
            leaves.push(UseLeaf {
                target,
                name: Some(r.rename.to_string()),
            });
        }
        UseTree::Glob(_) => leaves.push(UseLeaf {
            target: prefix.clone(),
            name: None,
        }),
        UseTree::Group(g) => {
            for tree in &g.items {
                flatten_use(tree, prefix, leaves);
            }
        }
    }
}

fn is_cfg_test(attrs: &[Attribute]) -> bool {
    attrs.iter().any(|attr| {
        attr.path().is_ident("cfg")
            && attr
                .parse_args::<syn::Ident>()
                .is_ok_and(|ident| ident == "test")
    })
}

fn path_attribute(attrs: &[Attribute]) -> Option<String> {
    attrs.iter().find_map(|attr| match &attr.meta {
        Meta::NameValue(nv) if nv.path.is_ident("path") => match &nv.value {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) => Some(s.value()),
            _ => None,
        },
        _ => None,
    })
}

fn derives_json_schema(attrs: &[Attribute]) -> bool {
    attrs.iter().any(|attr| {
        attr.path().is_ident("derive")
            && attr
                .parse_args_with(Punctuated::<syn::Path, Token![,]>::parse_terminated)
                .is_ok_and(|paths| {
                    paths
                        .iter()
                        .any(|p| p.segments.last().is_some_and(|s| s.ident == "JsonSchema"))
                })
    })
}

/// The `rename` a `#[schemars(...)]` or else `#[serde(...)]` attribute
/// declares, as schemars reads it (serde's deserialize name).
fn declared_schema_name(attrs: &[Attribute]) -> Option<String> {
    let rename_in = |tool: &str| {
        attrs
            .iter()
            .filter(|attr| attr.path().is_ident(tool))
            .filter_map(|attr| {
                attr.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated)
                    .ok()
            })
            .flatten()
            .filter_map(|meta| rename_value(&meta))
            .last()
    };
    rename_in("schemars").or_else(|| rename_in("serde"))
}

fn rename_value(meta: &Meta) -> Option<String> {
    let string = |expr: &syn::Expr| match expr {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) => Some(s.value()),
        _ => None,
    };
    match meta {
        Meta::NameValue(nv) if nv.path.is_ident("rename") => string(&nv.value),
        Meta::List(list) if list.path.is_ident("rename") => list
            .parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated)
            .ok()?
            .iter()
            .find_map(|inner| match inner {
                Meta::NameValue(nv) if nv.path.is_ident("deserialize") => string(&nv.value),
                _ => None,
            }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A throwaway crate: `files` are `(path under src/, contents)`.
    fn fixture(name: &str, files: &[(&str, &str)]) -> PathBuf {
        let root = std::env::temp_dir().join(format!("accord-scan-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        for (path, contents) in files {
            let file = root.join("src").join(path);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(file, contents).unwrap();
        }
        root.join("src/lib.rs")
    }

    fn paths(scanned: &Scanned) -> Vec<String> {
        scanned
            .services
            .iter()
            .map(|s| s.public_path.join("::"))
            .collect()
    }

    #[test]
    fn follows_file_folder_inline_and_path_modules() {
        let lib = fixture(
            "modules",
            &[
                (
                    "lib.rs",
                    "pub mod flat; pub mod nested; #[path = \"elsewhere/x.rs\"] pub mod renamed;
                     pub mod inline { pub mod deeper; #[accord::service] pub trait Inline {} }
                     #[cfg(test)] mod tests { #[accord::service] pub trait Hidden {} }",
                ),
                (
                    "flat.rs",
                    "pub mod child; #[accord::service(name = \"f\")] pub trait Flat {}",
                ),
                ("flat/child.rs", "#[::accord::service] pub trait Child {}"),
                (
                    "nested/mod.rs",
                    "use accord::service; #[service] pub trait Nested {}",
                ),
                (
                    "elsewhere/x.rs",
                    "use accord::service as svc; #[svc] pub trait Renamed {}",
                ),
                (
                    "inline/deeper.rs",
                    "use accord::*; #[service] pub trait Deeper {}",
                ),
            ],
        );
        let scanned = scan_crate(&lib, "c", "accord").unwrap();
        assert_eq!(
            paths(&scanned),
            [
                "flat::child::Child",
                "flat::Flat",
                "nested::Nested",
                "renamed::Renamed",
                "inline::deeper::Deeper",
                "inline::Inline",
            ]
        );
    }

    #[test]
    fn ignores_attributes_of_other_crates_and_uses_the_renamed_dependency() {
        let lib = fixture(
            "renamed-dep",
            &[(
                "lib.rs",
                "#[other::service] pub trait A {}
                 #[service] pub trait B {}
                 #[contracts::service] pub trait C {}",
            )],
        );
        let scanned = scan_crate(&lib, "c", "contracts").unwrap();
        assert_eq!(paths(&scanned), ["C"]);
    }

    #[test]
    fn a_private_module_is_reached_through_its_re_export() {
        let lib = fixture(
            "reexport",
            &[
                (
                    "lib.rs",
                    "mod billing; mod hidden; pub use billing::*; pub mod api { pub use crate::hidden::Hidden as Visible; }",
                ),
                ("billing.rs", "#[accord::service] pub trait Billing {}"),
                ("hidden.rs", "#[accord::service] pub trait Hidden {}"),
            ],
        );
        let scanned = scan_crate(&lib, "c", "accord").unwrap();
        assert_eq!(paths(&scanned), ["Billing", "api::Visible"]);
        assert_eq!(scanned.services[0].declared_path, ["billing", "Billing"]);
    }

    #[test]
    fn an_unreachable_trait_is_an_error_naming_the_private_module() {
        let lib = fixture(
            "private",
            &[
                ("lib.rs", "mod internal;"),
                ("internal.rs", "#[accord::service] pub trait Orders {}"),
            ],
        );
        let error = format!("{:#}", scan_crate(&lib, "c", "accord").unwrap_err());
        assert!(error.contains("`internal::Orders`"), "{error}");
        assert!(error.contains("module `internal` is private"), "{error}");
        assert!(error.contains("pub use internal::Orders;"), "{error}");

        let lib = fixture(
            "not-pub",
            &[("lib.rs", "#[accord::service] pub(crate) trait Orders {}")],
        );
        let error = format!("{:#}", scan_crate(&lib, "c", "accord").unwrap_err());
        assert!(error.contains("is not `pub`"), "{error}");
    }

    #[test]
    fn records_schema_names_as_schemars_declares_them() {
        let lib = fixture(
            "schema-types",
            &[(
                "lib.rs",
                r#"
                #[derive(Serialize, JsonSchema)] pub struct Plain;
                #[derive(schemars::JsonSchema)] #[serde(rename = "Wire")] pub struct SerdeRenamed;
                #[derive(JsonSchema)] #[serde(rename(serialize = "Out", deserialize = "In"))] pub struct Split;
                #[derive(JsonSchema)] #[serde(rename = "Lost")] #[schemars(rename = "Kept")] pub enum Both {}
                #[derive(JsonSchema)] #[schemars(rename = "{T}Page")] pub struct Page<T> { t: T }
                #[derive(Serialize)] pub struct NotSchema;
                pub mod inner { #[derive(JsonSchema)] pub struct Plain; }
                "#,
            )],
        );
        let scanned = scan_crate(&lib, "c", "accord").unwrap();
        let found: Vec<(&str, &str, bool)> = scanned
            .schema_types
            .iter()
            .map(|t| (t.rust_path.as_str(), t.schema_name.as_str(), t.generic))
            .collect();
        assert_eq!(
            found,
            [
                ("c::Plain", "Plain", false),
                ("c::SerdeRenamed", "Wire", false),
                ("c::Split", "In", false),
                ("c::Both", "Kept", false),
                ("c::Page", "{T}Page", true),
                ("c::inner::Plain", "Plain", false),
            ]
        );
    }
}
