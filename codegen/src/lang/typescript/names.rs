//! TypeScript names: identifiers for types, functions, parameters and
//! property keys, kept clear of TypeScript's reserved words and of the
//! globals the client's own code uses.

/// Names TypeScript reserves, or that the client template uses from the
/// global scope: a contract type with one of these names gets a trailing
/// `_` in TypeScript, so it neither breaks nor shadows them.
const RESERVED: &[&str] = &[
    // Keywords and primitive type names.
    "any",
    "bigint",
    "boolean",
    "break",
    "case",
    "catch",
    "class",
    "const",
    "continue",
    "debugger",
    "default",
    "delete",
    "do",
    "else",
    "enum",
    "export",
    "extends",
    "false",
    "finally",
    "for",
    "function",
    "if",
    "implements",
    "import",
    "in",
    "instanceof",
    "interface",
    "let",
    "never",
    "new",
    "null",
    "number",
    "object",
    "package",
    "private",
    "protected",
    "public",
    "return",
    "static",
    "string",
    "super",
    "switch",
    "symbol",
    "this",
    "throw",
    "true",
    "try",
    "typeof",
    "undefined",
    "unknown",
    "var",
    "void",
    "while",
    "with",
    "yield",
    // Globals the client's code names as types.
    "AbortSignal",
    "Array",
    "Error",
    "JSON",
    "Object",
    "Promise",
    "Response",
];

/// The TypeScript name of the schema named `name`: `_` for characters a
/// name cannot hold, a leading `_` before a digit, a trailing `_` after a
/// reserved name.
pub fn type_name(name: &str) -> String {
    let mut ident: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '$' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if ident.is_empty() || ident.starts_with(|c: char| c.is_ascii_digit()) {
        ident.insert(0, '_');
    }
    if RESERVED.contains(&ident.as_str()) {
        ident.push('_');
    }
    ident
}

/// A TypeScript identifier for a Rust argument or field name: camelCase for
/// function names, the name itself otherwise, with a trailing `_` after a
/// reserved word.
pub fn identifier(name: &str, camel: bool) -> String {
    let mut ident = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' && camel && !ident.is_empty() {
            upper = true;
        } else if c.is_ascii_alphanumeric() || c == '_' || c == '$' {
            if upper {
                ident.extend(c.to_uppercase());
                upper = false;
            } else {
                ident.push(c);
            }
        } else {
            ident.push('_');
        }
    }
    if ident.is_empty() || ident.starts_with(|c: char| c.is_ascii_digit()) {
        ident.insert(0, '_');
    }
    if RESERVED.contains(&ident.as_str()) {
        ident.push('_');
    }
    ident
}

/// A property key: bare when it is an identifier, quoted otherwise.
pub fn property_key(name: &str) -> String {
    let bare = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    if bare {
        name.to_owned()
    } else {
        string_literal(name)
    }
}

/// A double-quoted string literal.
pub fn string_literal(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| format!("{text:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_avoid_reserved_words() {
        assert_eq!(identifier("place_order", true), "placeOrder");
        assert_eq!(identifier("idempotency_key", false), "idempotency_key");
        assert_eq!(identifier("new", false), "new_");
        assert_eq!(identifier("delete", true), "delete_");
        assert_eq!(type_name("9lives"), "_9lives");
        assert_eq!(type_name("Response"), "Response_");
        assert_eq!(property_key("x-y"), "\"x-y\"");
        assert_eq!(property_key("snake_case"), "snake_case");
    }
}
