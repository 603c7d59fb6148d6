//! Path templates: `/orders/{id}/lines` split at its `{name}` parameters.

/// A piece of a path template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Literal(String),
    Param(String),
}

/// The route a path template matches, with parameter names erased:
/// `/orders/{id}` and `/orders/{order}` are the same route.
pub fn route_shape(segments: &[Seg]) -> String {
    segments
        .iter()
        .map(|s| match s {
            Seg::Literal(l) => l.as_str(),
            Seg::Param(_) => "{}",
        })
        .collect()
}

/// Splits a path template at its `{name}` parameters.
pub fn split_path(path: &str) -> Result<Vec<Seg>, String> {
    if !path.starts_with('/') {
        return Err(format!("the path `{path}` must start with `/`"));
    }
    if path.contains(['?', '#']) {
        return Err(format!(
            "the path `{path}` cannot hold a query or fragment; bind query parameters with #[query]"
        ));
    }
    let mut segments = Vec::new();
    let mut rest = path;
    while !rest.is_empty() {
        match rest.find(['{', '}']) {
            None => {
                segments.push(Seg::Literal(rest.to_owned()));
                break;
            }
            Some(i) if rest.as_bytes()[i] == b'}' => {
                return Err(format!("unmatched `}}` in the path `{path}`"));
            }
            Some(i) => {
                if i > 0 {
                    segments.push(Seg::Literal(rest[..i].to_owned()));
                }
                let after = &rest[i + 1..];
                let Some(end) = after.find('}') else {
                    return Err(format!("unclosed `{{` in the path `{path}`"));
                };
                let name = &after[..end];
                if name.starts_with('*') {
                    return Err(format!(
                        "`{{{name}}}`: catch-all parameters are not supported; each parameter is one path segment"
                    ));
                }
                if syn::parse_str::<syn::Ident>(name).is_err() {
                    return Err(format!(
                        "`{{{name}}}` in the path `{path}` is not a parameter name; write `{{id}}`"
                    ));
                }
                let before_ok = i > 0 && rest[..i].ends_with('/');
                let after_ok = after[end + 1..].is_empty() || after[end + 1..].starts_with('/');
                if !before_ok || !after_ok {
                    return Err(format!(
                        "`{{{name}}}` must be a whole path segment, as in `/orders/{{{name}}}`"
                    ));
                }
                if segments
                    .iter()
                    .any(|s| matches!(s, Seg::Param(p) if p == name))
                {
                    return Err(format!("the path parameter `{{{name}}}` appears twice"));
                }
                segments.push(Seg::Param(name.to_owned()));
                rest = &after[end + 1..];
            }
        }
    }
    Ok(segments)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_paths_at_parameters() {
        assert_eq!(
            split_path("/orders/{id}/lines/{line}").unwrap(),
            vec![
                Seg::Literal("/orders/".into()),
                Seg::Param("id".into()),
                Seg::Literal("/lines/".into()),
                Seg::Param("line".into()),
            ]
        );
        assert_eq!(split_path("/").unwrap(), vec![Seg::Literal("/".into())]);
    }

    #[test]
    fn rejects_malformed_paths() {
        for (path, needle) in [
            ("orders", "must start with `/`"),
            ("/orders/{id", "unclosed"),
            ("/orders/id}", "unmatched"),
            ("/orders/{1d}", "not a parameter name"),
            ("/orders/x{id}", "whole path segment"),
            ("/orders/{id}x", "whole path segment"),
            ("/orders/{id}/{id}", "appears twice"),
            ("/orders?x=1", "query"),
            ("/files/{*rest}", "catch-all"),
        ] {
            let err = split_path(path).unwrap_err();
            assert!(err.contains(needle), "{path}: {err}");
        }
    }

    #[test]
    fn route_shapes_ignore_parameter_names() {
        let a = route_shape(&split_path("/items/{id}/lines/{line}").unwrap());
        let b = route_shape(&split_path("/items/{item}/lines/{n}").unwrap());
        assert_eq!(a, b);
        assert_eq!(a, "/items/{}/lines/{}");
        assert_ne!(a, route_shape(&split_path("/items/{id}").unwrap()));
    }
}
