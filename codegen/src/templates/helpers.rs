//! The helpers every template set can call besides handlebars' built-ins
//! (`if`, `each`, `eq`, `and`, `not`, `len`, ...), and the pieces the sets'
//! own helpers are written with. Each helper is documented in
//! `codegen/TEMPLATES.md`.

use handlebars::{
    Context, Handlebars, Helper, HelperDef, RenderContext, RenderError, RenderErrorReason,
    ScopedJson,
};
use serde_json::Value;

/// Registers the shared helpers on `registry`.
pub(super) fn register(registry: &mut Handlebars<'static>) {
    registry.register_helper("json", Box::new(Json));
    registry.register_helper("lower", Box::new(Lower));
}

/// The value of parameter `index`; an error when it is missing, so strict
/// mode also covers helper arguments.
pub(crate) fn param<'a>(
    h: &'a Helper<'_>,
    name: &'static str,
    index: usize,
) -> Result<&'a Value, RenderError> {
    match h.param(index) {
        Some(p) if !p.is_value_missing() => Ok(p.value()),
        Some(p) => {
            Err(RenderErrorReason::MissingVariable(p.relative_path().map(|s| s.to_owned())).into())
        }
        None => Err(RenderErrorReason::ParamNotFoundForIndex(name, index).into()),
    }
}

/// A helper's result: `text` as a string value.
pub(crate) fn derived(text: String) -> Result<ScopedJson<'static>, RenderError> {
    Ok(ScopedJson::Derived(Value::String(text)))
}

/// `{{json value}}`: the value as compact JSON (a string becomes a quoted,
/// escaped literal, valid in TypeScript).
struct Json;

impl HelperDef for Json {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        let value = param(h, "json", 0)?;
        derived(serde_json::to_string(value).unwrap_or_default())
    }
}

/// `{{lower text}}`: lower case.
struct Lower;

impl HelperDef for Lower {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        let text = param(h, "lower", 0)?.as_str().unwrap_or("");
        derived(text.to_lowercase())
    }
}
