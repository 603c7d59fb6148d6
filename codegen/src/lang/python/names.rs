//! Python names: classes, fields, methods, parameters and the package,
//! kept clear of Python's keywords, of the builtins and module aliases the
//! client's code uses, and of pydantic's own attributes.

/// Python's keywords and soft keywords that cannot be names.
const KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
];

/// Names the client module uses at module level: the builtins its
/// annotations name and its module aliases. A contract type with one of
/// these names gets a trailing `_`.
const MODULE_NAMES: &[&str] = &[
    "Any",
    "Exception",
    "TimeoutError",
    "bool",
    "bytes",
    "dict",
    "float",
    "frozenset",
    "int",
    "list",
    "object",
    "str",
    "super",
    "tuple",
    "type",
    "_Mapping",
    "_httpx",
    "_p",
    "_runtime",
    "_t",
    "_te",
];

/// Attributes of pydantic's `BaseModel` a field must not shadow.
const MODEL_ATTRIBUTES: &[&str] = &[
    "construct",
    "copy",
    "dict",
    "from_orm",
    "json",
    "parse_file",
    "parse_obj",
    "parse_raw",
    "schema",
    "schema_json",
    "update_forward_refs",
    "validate",
];

/// Parameters every request method has, and the module aliases a method's
/// body uses, which a parameter must not shadow.
const METHOD_PARAMETERS: &[&str] = &[
    "self", "timeout", "headers", "_Mapping", "_httpx", "_p", "_runtime", "_t", "_te",
];

/// Attributes of the client class besides the request methods.
const CLIENT_ATTRIBUTES: &[&str] = &["aclose", "_connection"];

/// `text` as a Python identifier: `_` for characters a name cannot hold,
/// a leading `_` before a digit.
fn identifier(text: &str) -> String {
    let mut ident: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if ident.is_empty() || ident.starts_with(|c: char| c.is_ascii_digit()) {
        ident.insert(0, '_');
    }
    ident
}

/// Appends `_` while `taken` says the name is taken.
fn clear(mut name: String, taken: impl Fn(&str) -> bool) -> String {
    while taken(&name) {
        name.push('_');
    }
    name
}

/// The Python name of the schema named `name`.
pub fn type_name(name: &str) -> String {
    clear(identifier(name), |n| {
        KEYWORDS.contains(&n) || MODULE_NAMES.contains(&n)
    })
}

/// The Python name of a model field whose JSON name is `json_name`.
/// pydantic keeps names starting with `_` for private attributes, so
/// those move the underscores to the end.
pub fn field_name(json_name: &str) -> String {
    let ident = identifier(json_name);
    let trimmed = ident.trim_start_matches('_');
    let ident = if trimmed.len() == ident.len() {
        ident
    } else if trimmed.is_empty() || trimmed.starts_with(|c: char| c.is_ascii_digit()) {
        format!("field_{trimmed}")
    } else {
        format!("{trimmed}_")
    };
    // pydantic reserves the `model_` prefix for its own attributes.
    let ident = if ident.starts_with("model_") {
        format!("field_{ident}")
    } else {
        ident
    };
    clear(ident, |n| {
        KEYWORDS.contains(&n) || MODEL_ATTRIBUTES.contains(&n)
    })
}

/// The Python name of a request method named `name` in Rust.
pub fn method_name(name: &str) -> String {
    clear(identifier(name), |n| {
        KEYWORDS.contains(&n) || CLIENT_ATTRIBUTES.contains(&n) || n.starts_with("__")
    })
}

/// The Python name of a method parameter for the Rust argument `name`.
pub fn parameter_name(name: &str) -> String {
    clear(identifier(name), |n| {
        KEYWORDS.contains(&n) || METHOD_PARAMETERS.contains(&n)
    })
}

/// `place_order` -> `PlaceOrder`; `out-of-stock` -> `OutOfStock`.
pub fn pascal(text: &str) -> String {
    let mut out = String::new();
    let mut upper = true;
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            if upper {
                out.push(c.to_ascii_uppercase());
            } else {
                out.push(c);
            }
            upper = false;
        } else {
            upper = true;
        }
    }
    out
}

/// `orderPlaced`, `order_placed` -> `ORDER_PLACED`.
pub fn constant(text: &str) -> String {
    let mut out = String::new();
    let mut previous_lower = false;
    for c in text.chars() {
        if c.is_ascii_uppercase() && previous_lower {
            out.push('_');
        }
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_uppercase());
        } else {
            out.push('_');
        }
        previous_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
    }
    identifier(&out)
}

/// The import name of the client package of service `service`:
/// `orders` -> `orders_client`.
pub fn module_name(service: &str) -> String {
    format!("{}_client", identifier(&service.to_ascii_lowercase()))
}

/// The distribution name of the client package: `orders` -> `orders-client`.
pub fn distribution_name(service: &str) -> String {
    module_name(service)
        .trim_start_matches('_')
        .replace('_', "-")
}

/// The contract version as a Python package version (PEP 440): semver's
/// `alpha`, `beta` and `rc` pre-releases become `a`, `b` and `rc`, any
/// other pre-release a development release, and the rest of the
/// pre-release and the build metadata a local version label.
pub fn package_version(version: &str) -> String {
    let (version, build) = match version.split_once('+') {
        Some((version, build)) => (version, Some(build)),
        None => (version, None),
    };
    let (release, pre) = match version.split_once('-') {
        Some((release, pre)) => (release, Some(pre)),
        None => (version, None),
    };
    let mut out = release.to_owned();
    let mut local: Vec<String> = Vec::new();
    if let Some(pre) = pre {
        let mut parts = pre.split('.');
        let kind = parts.next().unwrap_or("");
        let number = parts.clone().next().filter(|n| n.parse::<u64>().is_ok());
        let tag = match kind.to_ascii_lowercase().as_str() {
            "alpha" | "a" => Some("a"),
            "beta" | "b" => Some("b"),
            "rc" | "c" | "pre" | "preview" => Some("rc"),
            _ => None,
        };
        match tag {
            Some(tag) => {
                out.push_str(tag);
                out.push_str(number.unwrap_or("0"));
                if number.is_some() {
                    parts.next();
                }
                local.extend(parts.map(str::to_owned));
            }
            None => {
                out.push_str(".dev0");
                local.extend(pre.split('.').map(str::to_owned));
            }
        }
    }
    local.extend(
        build
            .into_iter()
            .flat_map(|b| b.split('.'))
            .map(str::to_owned),
    );
    let local: Vec<String> = local
        .iter()
        .map(|part| {
            part.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        c.to_ascii_lowercase()
                    } else {
                        '.'
                    }
                })
                .collect::<String>()
        })
        .filter(|part| !part.is_empty())
        .collect();
    if !local.is_empty() {
        out.push('+');
        out.push_str(&local.join("."));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_avoid_keywords_builtins_and_pydantic() {
        assert_eq!(type_name("Order"), "Order");
        assert_eq!(type_name("None"), "None_");
        assert_eq!(type_name("str"), "str_");
        assert_eq!(type_name("a-b.c"), "a_b_c");
        assert_eq!(type_name("9lives"), "_9lives");
        assert_eq!(field_name("from"), "from_");
        assert_eq!(field_name("_id"), "id_");
        assert_eq!(field_name("__"), "field_");
        assert_eq!(field_name("json"), "json_");
        assert_eq!(field_name("model_name"), "field_model_name");
        assert_eq!(field_name("x-y"), "x_y");
        assert_eq!(method_name("aclose"), "aclose_");
        assert_eq!(parameter_name("timeout"), "timeout_");
        assert_eq!(parameter_name("class"), "class_");
        assert_eq!(parameter_name("_runtime"), "_runtime_");
        assert_eq!(pascal("out_of-stock"), "OutOfStock");
        assert_eq!(constant("order_placed"), "ORDER_PLACED");
        assert_eq!(constant("orderPlaced"), "ORDER_PLACED");
        assert_eq!(module_name("orders"), "orders_client");
        assert_eq!(module_name("9-lives"), "_9_lives_client");
        assert_eq!(distribution_name("orders"), "orders-client");
        assert_eq!(distribution_name("9-lives"), "9-lives-client");
    }

    #[test]
    fn versions_follow_pep_440() {
        assert_eq!(package_version("1.2.0"), "1.2.0");
        assert_eq!(package_version("2.0.0-rc.1"), "2.0.0rc1");
        assert_eq!(package_version("2.0.0-alpha"), "2.0.0a0");
        assert_eq!(package_version("2.0.0-beta.2.x"), "2.0.0b2+x");
        assert_eq!(package_version("1.0.0-nightly.7"), "1.0.0.dev0+nightly.7");
        assert_eq!(package_version("1.0.0+Build-5"), "1.0.0+build.5");
    }
}
