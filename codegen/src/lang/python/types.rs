//! Python types from the neutral [`Ty`] tree, for pydantic v2.
//!
//! - Objects with properties become model classes: a named type under its
//!   name, an inline object under a name made from where it sits
//!   (`Payment` + the tag value `card` -> `PaymentCard`; `Order` + the
//!   property `details` -> `OrderDetails`). A property that is not required
//!   is `T | None = None`, and `None` is left out of the JSON. A literal tag
//!   gets its value as default, so a caller does not repeat it.
//! - Objects that are only maps become `dict[str, T]`; arrays `list[T]`;
//!   closed tuples `tuple[A, B]`.
//! - Unions become `A | B`, literals of one union one `Literal[...]`, and a
//!   union of models that all carry a distinct literal tag (serde's
//!   internally and adjacently tagged enums) a pydantic discriminated union.
//!   Externally tagged and untagged enums are plain unions: pydantic tries
//!   each member, and a model requires its own properties.
//! - Integers are `int`, with their bounds checked by pydantic
//!   (`Annotated[int, Field(ge=0, le=255)]`); numbers `float`.
//! - `allOf` of objects is merged into one model; any other intersection,
//!   an open tuple and anything the lowering could not read is `Any`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Number, Value};

use super::names::{field_name, pascal};
use crate::view::{ObjectTy, Property, Shape, Ty, TypeDef};

/// A model class.
#[derive(Debug, Clone)]
pub struct Model {
    /// The class name.
    pub name: String,
    /// Its docstring.
    pub docs: Option<String>,
    /// The fields, sorted by JSON name.
    pub fields: Vec<Field>,
    /// Whether it keeps properties it does not declare (an open map).
    pub extra: bool,
}

/// A field of a model.
#[derive(Debug, Clone)]
pub struct Field {
    /// The Python name.
    pub name: String,
    /// The JSON name.
    pub json_name: String,
    /// The annotation, including pydantic's `Field(...)` where needed.
    pub annotation: String,
    /// The default, as Python source; `None` for a required field.
    pub default: Option<String>,
    /// Whether the JSON may leave it out (then `None` is left out).
    pub optional: bool,
    /// Its docstring.
    pub docs: Option<String>,
}

/// Maps types to Python annotations, declaring model classes for the
/// objects it meets.
#[derive(Debug)]
pub struct Mapper<'a> {
    /// Schema name -> Python name.
    names: BTreeMap<String, String>,
    /// Schema names of the named types declared as models, with their object.
    objects: BTreeMap<String, &'a ObjectTy>,
    /// Every name the module declares so far.
    taken: BTreeSet<String>,
    /// Python names that must be quoted where referenced: type aliases
    /// declared after the current one.
    quoted: BTreeSet<String>,
    /// The model classes declared, in declaration order.
    pub models: Vec<Model>,
}

impl<'a> Mapper<'a> {
    /// A mapper for `types`, whose Python names are `names` (by schema
    /// name), with `reserved` names the module declares besides them.
    pub fn new(
        types: &'a [TypeDef],
        names: BTreeMap<String, String>,
        reserved: impl IntoIterator<Item = String>,
    ) -> Self {
        let objects = types
            .iter()
            .filter_map(|t| match &t.shape {
                Shape::Object(object) => Some((t.name.clone(), object)),
                _ => None,
            })
            .collect();
        let taken = names.values().cloned().chain(reserved).collect();
        Mapper {
            names,
            objects,
            taken,
            quoted: BTreeSet::new(),
            models: Vec::new(),
        }
    }

    /// The Python name of the schema named `name`.
    pub fn name(&self, name: &str) -> String {
        self.names
            .get(name)
            .cloned()
            .unwrap_or_else(|| super::names::type_name(name))
    }

    /// Names to quote where referenced, from now on.
    pub fn set_quoted(&mut self, quoted: BTreeSet<String>) {
        self.quoted = quoted;
    }

    /// A name no declaration has yet, starting from `hint`; taken.
    pub fn fresh(&mut self, hint: &str) -> String {
        let base = if hint.is_empty() { "Anonymous" } else { hint };
        let mut name = base.to_owned();
        let mut n = 2;
        while self.taken.contains(&name) {
            name = format!("{base}{n}");
            n += 1;
        }
        self.taken.insert(name.clone());
        name
    }

    /// Declares the model of a named object type.
    pub fn declare_model(&mut self, name: &str, object: &ObjectTy, docs: Option<String>) {
        let class = self.name(name);
        self.model(class, object, docs);
    }

    /// The annotation of a union of `variants` (each with its docs), for a
    /// position named `hint`.
    pub fn union_of(&mut self, variants: &[(&Ty, Option<&String>)], hint: &str) -> String {
        let non_null = variants.iter().filter(|(t, _)| !is_null(t)).count();
        let tag = self.discriminator(variants.iter().map(|(t, _)| *t));
        let mut parts = Vec::new();
        let mut discriminated = Vec::new();
        for (index, (ty, docs)) in variants.iter().enumerate() {
            let member_hint = if non_null == 1 {
                hint.to_owned()
            } else {
                format!("{hint}{}", self.variant_hint(ty, index, tag.as_deref()))
            };
            let annotation = match ty {
                Ty::Object(object) if !object.properties.is_empty() => {
                    let name = self.fresh(&member_hint);
                    self.model(name.clone(), object, docs.cloned());
                    self.reference(&name)
                }
                _ => self.annotation(ty, &member_hint),
            };
            if tag.is_some() && !is_null(ty) {
                discriminated.push(annotation);
            } else {
                parts.push(annotation);
            }
        }
        if let Some(tag) = tag {
            let members = join_union(discriminated);
            parts.insert(
                0,
                format!(
                    "_t.Annotated[{members}, _p.Field(discriminator={})]",
                    literal_text(&tag)
                ),
            );
        }
        join_union(parts)
    }

    /// The annotation of `ty`, for a position named `hint` (the name any
    /// model class declared for it starts from).
    pub fn annotation(&mut self, ty: &Ty, hint: &str) -> String {
        match ty {
            Ty::Any => "_t.Any".into(),
            Ty::Never => "_t.NoReturn".into(),
            Ty::Ref(name) => {
                let name = self.name(name);
                self.reference(&name)
            }
            Ty::Literal(value) => literal(value),
            Ty::String => "str".into(),
            Ty::Integer { minimum, maximum } => {
                let mut bounds = Vec::new();
                if let Some(min) = minimum {
                    bounds.push(format!("ge={}", number(min)));
                }
                if let Some(max) = maximum {
                    bounds.push(format!("le={}", number(max)));
                }
                if bounds.is_empty() {
                    "int".into()
                } else {
                    format!("_t.Annotated[int, _p.Field({})]", bounds.join(", "))
                }
            }
            Ty::Number => "float".into(),
            Ty::Boolean => "bool".into(),
            Ty::Null => "None".into(),
            Ty::Array(item) => format!("list[{}]", self.annotation(item, &format!("{hint}Item"))),
            Ty::Tuple { items, rest: None } => {
                if items.is_empty() {
                    return "tuple[()]".into();
                }
                let items: Vec<String> = items
                    .iter()
                    .enumerate()
                    .map(|(i, t)| self.annotation(t, &format!("{hint}Item{}", i + 1)))
                    .collect();
                format!("tuple[{}]", items.join(", "))
            }
            Ty::Tuple { rest: Some(_), .. } => "list[_t.Any]".into(),
            Ty::Object(object) => {
                if object.properties.is_empty() {
                    let value = match &object.additional {
                        Some(value) => self.annotation(value, &format!("{hint}Value")),
                        None => "_t.Any".into(),
                    };
                    return format!("dict[str, {value}]");
                }
                let name = self.fresh(hint);
                self.model(name.clone(), object, None);
                name
            }
            Ty::Union(members) => {
                let variants: Vec<(&Ty, Option<&String>)> =
                    members.iter().map(|m| (m, None)).collect();
                self.union_of(&variants, hint)
            }
            Ty::Intersection(parts) => match self.merge(parts) {
                Some(object) => self.annotation(&Ty::Object(object), hint),
                None => "_t.Any".into(),
            },
        }
    }

    fn reference(&self, name: &str) -> String {
        if self.quoted.contains(name) {
            format!("\"{name}\"")
        } else {
            name.to_owned()
        }
    }

    fn model(&mut self, name: String, object: &ObjectTy, docs: Option<String>) {
        // Declared before its fields are mapped, so its name is taken
        // and the classes of its fields follow it.
        let index = self.models.len();
        self.taken.insert(name.clone());
        self.models.push(Model {
            name: name.clone(),
            docs,
            fields: Vec::new(),
            extra: object.additional.is_some(),
        });
        let mut used = BTreeSet::new();
        let mut fields = Vec::new();
        for property in &object.properties {
            let mut python = field_name(&property.name);
            while !used.insert(python.clone()) {
                python.push('_');
            }
            fields.push(self.field(&name, python, property));
        }
        self.models[index].fields = fields;
    }

    fn field(&mut self, model: &str, python: String, property: &Property) -> Field {
        let mut annotation =
            self.annotation(&property.ty, &format!("{model}{}", pascal(&property.name)));
        let tag = match &property.ty {
            Ty::Literal(value @ (Value::String(_) | Value::Number(_) | Value::Bool(_))) => {
                Some(value.to_string())
            }
            _ => None,
        };
        let optional = !property.required;
        let mut default = None;
        if optional {
            if !property.ty.is_nullable() {
                annotation = format!("{annotation} | None");
            }
            default = Some("None".to_owned());
        } else if let Some(tag) = &tag {
            default = Some(python_literal(tag));
        }
        if python != property.name {
            let alias = literal_text(&property.name);
            let default_arg = default
                .take()
                .map(|d| format!("default={d}, "))
                .unwrap_or_default();
            default = Some(format!(
                "_p.Field({default_arg}validation_alias={alias}, serialization_alias={alias})"
            ));
        }
        Field {
            name: python,
            json_name: property.name.clone(),
            annotation,
            default,
            optional,
            docs: property.docs.clone(),
        }
    }

    /// The object type `ty` is declared as, if it is one.
    fn object_of<'t>(&'t self, ty: &'t Ty) -> Option<&'t ObjectTy> {
        match ty {
            Ty::Object(object) if !object.properties.is_empty() => Some(object),
            Ty::Ref(name) => self.objects.get(name).copied(),
            _ => None,
        }
    }

    /// The property every non-null member declares as a distinct required
    /// string literal, usable as pydantic's discriminator.
    fn discriminator<'t>(&self, members: impl Iterator<Item = &'t Ty>) -> Option<String> {
        let members: Vec<&Ty> = members.filter(|t| !is_null(t)).collect();
        if members.len() < 2 {
            return None;
        }
        let tags: Vec<BTreeMap<&str, &str>> = members
            .iter()
            .map(|m| self.object_of(m).map(tags).unwrap_or_default())
            .collect();
        let candidates: BTreeSet<&str> = tags[0].keys().copied().collect();
        candidates
            .into_iter()
            .find(|name| {
                field_name(name) == *name
                    && tags.iter().all(|t| t.contains_key(name))
                    && tags.iter().map(|t| t[name]).collect::<BTreeSet<_>>().len() == tags.len()
            })
            .map(str::to_owned)
    }

    fn variant_hint(&self, ty: &Ty, index: usize, tag: Option<&str>) -> String {
        if let Ty::Object(object) = ty {
            let found = tags(object);
            let value = tag
                .and_then(|t| found.get(t))
                .or_else(|| found.values().next());
            if let Some(value) = value {
                return pascal(value);
            }
            if let [only] = object.properties.as_slice() {
                return pascal(&only.name);
            }
        }
        format!("Variant{}", index + 1)
    }

    /// The one object all of `parts` are, when each is an object.
    fn merge(&self, parts: &[Ty]) -> Option<ObjectTy> {
        let mut merged = ObjectTy::default();
        for part in parts {
            let object = match part {
                Ty::Object(object) => object,
                other => self.object_of(other)?,
            };
            for property in &object.properties {
                match merged
                    .properties
                    .iter_mut()
                    .find(|p| p.name == property.name)
                {
                    Some(existing) => existing.required |= property.required,
                    None => merged.properties.push(property.clone()),
                }
            }
            if merged.additional.is_none() {
                merged.additional = object.additional.clone();
            }
        }
        merged.properties.sort_by(|a, b| a.name.cmp(&b.name));
        Some(merged)
    }
}

/// The required string-literal properties of `object`: name -> value.
fn tags(object: &ObjectTy) -> BTreeMap<&str, &str> {
    object
        .properties
        .iter()
        .filter(|p| p.required)
        .filter_map(|p| match &p.ty {
            Ty::Literal(Value::String(value)) => Some((p.name.as_str(), value.as_str())),
            _ => None,
        })
        .collect()
}

fn is_null(ty: &Ty) -> bool {
    matches!(ty, Ty::Null) || matches!(ty, Ty::Literal(Value::Null))
}

/// A union of annotations: literals merged into one `Literal[...]`, `None`
/// last, repeats dropped.
pub fn join_union(parts: Vec<String>) -> String {
    let mut literals: Vec<String> = Vec::new();
    let mut others: Vec<String> = Vec::new();
    let mut literal_at = None;
    let mut nullable = false;
    for part in parts {
        if part == "None" {
            nullable = true;
        } else if let Some(inner) = part
            .strip_prefix("_t.Literal[")
            .and_then(|p| p.strip_suffix(']'))
        {
            literal_at.get_or_insert(others.len());
            if !literals.iter().any(|l| *l == inner) {
                literals.push(inner.to_owned());
            }
        } else if !others.contains(&part) {
            others.push(part);
        }
    }
    if let Some(at) = literal_at {
        others.insert(at, format!("_t.Literal[{}]", literals.join(", ")));
    }
    if nullable {
        others.push("None".into());
    }
    match others.len() {
        0 => "_t.NoReturn".into(),
        1 => others.remove(0),
        // A quoted forward reference cannot take part in `|` when the
        // alias is evaluated.
        _ if others
            .iter()
            .any(|p| p.contains('"') && !p.starts_with("_t.")) =>
        {
            format!("_t.Union[{}]", others.join(", "))
        }
        _ => others.join(" | "),
    }
}

fn literal(value: &Value) -> String {
    match value {
        Value::Null => "None".into(),
        Value::Bool(_) | Value::String(_) => {
            format!("_t.Literal[{}]", python_literal(&value.to_string()))
        }
        Value::Number(n) if n.is_i64() || n.is_u64() => format!("_t.Literal[{n}]"),
        Value::Number(_) => "float".into(),
        Value::Array(_) | Value::Object(_) => "_t.Any".into(),
    }
}

/// A JSON scalar (as JSON text) as Python source.
fn python_literal(json: &str) -> String {
    match json {
        "true" => "True".into(),
        "false" => "False".into(),
        "null" => "None".into(),
        other => other.to_owned(),
    }
}

/// `text` as a Python string literal (JSON's escapes are Python's).
pub fn literal_text(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| format!("{text:?}"))
}

fn number(n: &Number) -> String {
    n.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::ty::Lowering;
    use serde_json::json;

    fn python(definitions: Value, schema: Value) -> (String, Vec<Model>) {
        let definitions: BTreeMap<String, Value> = serde_json::from_value(definitions).unwrap();
        let ty = Lowering::new(&definitions).lower(&schema);
        let names = definitions
            .keys()
            .map(|n| (n.clone(), super::super::names::type_name(n)))
            .collect();
        let mut mapper = Mapper::new(&[], names, []);
        let annotation = mapper.annotation(&ty, "Thing");
        (annotation, mapper.models)
    }

    #[test]
    fn scalars_bounds_literals_and_containers() {
        let ann = |schema| python(json!({"Line": {}}), schema).0;
        assert_eq!(ann(json!({"type": "string"})), "str");
        assert_eq!(
            ann(json!({"type": "integer", "minimum": 0, "maximum": 255})),
            "_t.Annotated[int, _p.Field(ge=0, le=255)]"
        );
        assert_eq!(ann(json!({"type": ["number", "null"]})), "float | None");
        assert_eq!(
            ann(json!({"enum": ["a", "b", null]})),
            "_t.Literal[\"a\", \"b\"] | None"
        );
        assert_eq!(ann(json!({"const": true})), "_t.Literal[True]");
        assert_eq!(
            ann(json!({"type": "array", "items": {"$ref": "#/$defs/Line"}})),
            "list[Line]"
        );
        assert_eq!(
            ann(json!({"type": "object", "additionalProperties": {"type": "integer"}})),
            "dict[str, int]"
        );
        assert_eq!(
            ann(
                json!({"type": "array", "prefixItems": [{"type": "string"}, {"type": "boolean"}], "maxItems": 2})
            ),
            "tuple[str, bool]"
        );
        assert_eq!(ann(json!(true)), "_t.Any");
    }

    #[test]
    fn tagged_unions_are_discriminated_and_inline_objects_named() {
        let (annotation, models) = python(
            json!({}),
            json!({"oneOf": [
                {"type": "object", "properties": {"method": {"const": "ship"}, "express": {"type": "boolean"}}, "required": ["method", "express"]},
                {"type": "object", "properties": {"method": {"const": "pickup"}, "from": {"type": "string"}}, "required": ["method"]}
            ]}),
        );
        assert_eq!(
            annotation,
            "_t.Annotated[ThingShip | ThingPickup, _p.Field(discriminator=\"method\")]"
        );
        assert_eq!(models[0].name, "ThingShip");
        let pickup = &models[1];
        let from = &pickup.fields[0];
        assert_eq!(
            (from.name.as_str(), from.json_name.as_str()),
            ("from_", "from")
        );
        assert_eq!(from.annotation, "str | None");
        assert_eq!(
            from.default.as_deref(),
            Some("_p.Field(default=None, validation_alias=\"from\", serialization_alias=\"from\")")
        );
        assert_eq!(
            pickup.fields[1].default.as_deref(),
            Some("\"pickup\""),
            "tags default to their value"
        );
    }

    #[test]
    fn externally_tagged_and_untagged_unions_are_plain() {
        let (annotation, models) = python(
            json!({}),
            json!({"oneOf": [
                {"type": "object", "properties": {"Percent": {"type": "integer"}}, "required": ["Percent"]},
                {"type": "string"}
            ]}),
        );
        assert_eq!(annotation, "ThingPercent | str");
        assert_eq!(models[0].fields[0].name, "Percent");
    }

    #[test]
    fn forward_references_in_aliases_are_quoted() {
        assert_eq!(
            join_union(vec!["\"Later\"".into(), "None".into()]),
            "_t.Union[\"Later\", None]"
        );
        assert_eq!(
            join_union(vec!["_t.Literal[\"a\"]".into(), "int".into()]),
            "_t.Literal[\"a\"] | int"
        );
    }
}
