//! Request bodies, judged by the backward rule: the new server must accept
//! every body the old contract allowed.

use crate::support::cases;

cases! {
    /// A request that took no body now needs one.
    body_added => Error ["request-body-added"]
    before {
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "POST", path = "/orders/{id}/ship")]
            async fn ship(&self, id: u64);
        }
    }
    after {
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "POST", path = "/orders/{id}/ship")]
            async fn ship(&self, id: u64, carrier: String);
        }
    }

    /// A request no longer reads the body old clients send.
    body_removed => Error ["request-body-removed"]
    before {
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "POST", path = "/orders/{id}/ship")]
            async fn ship(&self, id: u64, carrier: String);
        }
    }
    after {
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "POST", path = "/orders/{id}/ship")]
            async fn ship(&self, id: u64);
        }
    }

    /// An optional field became required.
    body_field_became_required => Error ["request-body-narrowed:property-became-required"]
    before {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct NewOrder { pub sku: String, #[serde(default)] pub note: String }
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "POST", path = "/orders")]
            async fn place(&self, order: NewOrder);
        }
    }
    after {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct NewOrder { pub sku: String, pub note: String }
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "POST", path = "/orders")]
            async fn place(&self, order: NewOrder);
        }
    }

    /// A new required field: old clients do not send it.
    body_required_field_added => Error ["request-body-narrowed:required-property-added"]
    before {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct NewOrder { pub sku: String }
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "POST", path = "/orders")]
            async fn place(&self, order: NewOrder);
        }
    }
    after {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct NewOrder { pub sku: String, pub quantity: u32 }
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "POST", path = "/orders")]
            async fn place(&self, order: NewOrder);
        }
    }

    /// A required field became optional.
    body_field_became_optional => Ok ["request-body-widened:property-became-optional"]
    before {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct NewOrder { pub sku: String, pub quantity: u32 }
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "POST", path = "/orders")]
            async fn place(&self, order: NewOrder);
        }
    }
    after {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct NewOrder { pub sku: String, #[serde(default)] pub quantity: u32 }
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "POST", path = "/orders")]
            async fn place(&self, order: NewOrder);
        }
    }

    /// A field is gone from an open object: what old clients send for it is
    /// ignored, nothing is rejected.
    body_field_removed => Ok ["request-body-widened:required-property-removed"]
    before {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct NewOrder { pub sku: String, pub gift: bool }
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "POST", path = "/orders")]
            async fn place(&self, order: NewOrder);
        }
    }
    after {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct NewOrder { pub sku: String }
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "POST", path = "/orders")]
            async fn place(&self, order: NewOrder);
        }
    }

    /// A field is gone from a closed object: old bodies are rejected.
    body_field_removed_from_closed_object => Error ["request-body-narrowed:property-removed"]
    before {
        #[derive(Serialize, Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct NewOrder { pub sku: String, pub gift: bool }
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "POST", path = "/orders")]
            async fn place(&self, order: NewOrder);
        }
    }
    after {
        #[derive(Serialize, Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct NewOrder { pub sku: String }
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "POST", path = "/orders")]
            async fn place(&self, order: NewOrder);
        }
    }

    /// `deny_unknown_fields`: bodies with extra properties, which the old
    /// schema allowed, are rejected.
    body_closed => Error ["request-body-narrowed:closed"]
    before {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct NewOrder { pub sku: String }
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "POST", path = "/orders")]
            async fn place(&self, order: NewOrder);
        }
    }
    after {
        #[derive(Serialize, Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct NewOrder { pub sku: String }
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "POST", path = "/orders")]
            async fn place(&self, order: NewOrder);
        }
    }

    /// A field's type changed.
    body_field_type_changed => Error ["request-body-narrowed:type-changed"]
    before {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct NewOrder { pub sku: String, pub quantity: u32 }
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "POST", path = "/orders")]
            async fn place(&self, order: NewOrder);
        }
    }
    after {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct NewOrder { pub sku: String, pub quantity: String }
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "POST", path = "/orders")]
            async fn place(&self, order: NewOrder);
        }
    }

    /// An integer field became a number: every integer is still accepted.
    body_integer_became_number => Ok ["request-body-widened:type-changed"]
    before {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct Weight { pub grams: u32 }
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "POST", path = "/weigh")]
            async fn weigh(&self, weight: Weight);
        }
    }
    after {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct Weight { pub grams: f64 }
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "POST", path = "/weigh")]
            async fn weigh(&self, weight: Weight);
        }
    }

    /// Items that could be null no longer can.
    body_no_longer_nullable => Error ["request-body-narrowed:no-longer-nullable"]
    before {
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "POST", path = "/scores")]
            async fn record(&self, scores: Vec<Option<u32>>);
        }
    }
    after {
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "POST", path = "/scores")]
            async fn record(&self, scores: Vec<u32>);
        }
    }

    /// Items may now be null.
    body_became_nullable => Ok ["request-body-widened:became-nullable"]
    before {
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "POST", path = "/scores")]
            async fn record(&self, scores: Vec<u32>);
        }
    }
    after {
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "POST", path = "/scores")]
            async fn record(&self, scores: Vec<Option<u32>>);
        }
    }

    /// An enum lost a value old clients may send.
    body_enum_value_removed => Error ["request-body-narrowed:enum-value-removed"]
    before {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub enum Colour { Red, Green, Blue }
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "PUT", path = "/colour")]
            async fn paint(&self, colour: Colour);
        }
    }
    after {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub enum Colour { Red, Green }
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "PUT", path = "/colour")]
            async fn paint(&self, colour: Colour);
        }
    }

    /// An enum gained a value.
    body_enum_value_added => Ok ["request-body-widened:enum-value-added"]
    before {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub enum Colour { Red, Green }
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "PUT", path = "/colour")]
            async fn paint(&self, colour: Colour);
        }
    }
    after {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub enum Colour { Red, Green, Blue }
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "PUT", path = "/colour")]
            async fn paint(&self, colour: Colour);
        }
    }

    /// A free string became an enum.
    body_became_enum => Error ["request-body-narrowed:became-enum"]
    before {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct Paint { pub colour: String }
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "PUT", path = "/colour")]
            async fn paint(&self, paint: Paint);
        }
    }
    after {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub enum Colour { Red, Green }
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct Paint { pub colour: Colour }
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "PUT", path = "/colour")]
            async fn paint(&self, paint: Paint);
        }
    }

    /// An internally tagged enum lost a variant.
    body_tagged_variant_removed => Error ["request-body-narrowed:variant-removed"]
    before {
        #[derive(Serialize, Deserialize, JsonSchema)]
        #[serde(tag = "method", rename_all = "snake_case")]
        pub enum Delivery { Ship { address: String }, Pickup { store: String } }
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "PUT", path = "/delivery")]
            async fn deliver(&self, delivery: Delivery);
        }
    }
    after {
        #[derive(Serialize, Deserialize, JsonSchema)]
        #[serde(tag = "method", rename_all = "snake_case")]
        pub enum Delivery { Ship { address: String } }
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "PUT", path = "/delivery")]
            async fn deliver(&self, delivery: Delivery);
        }
    }

    /// A field of one variant became required; the change is found inside
    /// the variant with the same tag, even with the variants reordered.
    body_tagged_variant_field_required => Error ["request-body-narrowed:property-became-required"]
    before {
        #[derive(Serialize, Deserialize, JsonSchema)]
        #[serde(tag = "method", rename_all = "snake_case")]
        pub enum Delivery {
            Ship { address: String, #[serde(default)] express: bool },
            Pickup { store: String },
        }
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "PUT", path = "/delivery")]
            async fn deliver(&self, delivery: Delivery);
        }
    }
    after {
        #[derive(Serialize, Deserialize, JsonSchema)]
        #[serde(tag = "method", rename_all = "snake_case")]
        pub enum Delivery {
            Pickup { store: String },
            Ship { address: String, express: bool },
        }
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "PUT", path = "/delivery")]
            async fn deliver(&self, delivery: Delivery);
        }
    }

    /// An externally tagged enum gained a variant.
    body_external_variant_added => Ok ["request-body-widened:variant-added"]
    before {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub enum Discount { Percent(u8), Voucher { code: String } }
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "POST", path = "/discounts")]
            async fn apply(&self, discount: Discount);
        }
    }
    after {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub enum Discount { Percent(u8), Voucher { code: String }, Fixed { cents: u64 } }
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "POST", path = "/discounts")]
            async fn apply(&self, discount: Discount);
        }
    }

    /// A new upper bound on a number.
    body_maximum_added => Error ["request-body-narrowed:bound-tightened"]
    before {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct Line { pub sku: String, pub quantity: u32 }
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "POST", path = "/lines")]
            async fn add(&self, lines: Vec<Line>);
        }
    }
    after {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct Line { pub sku: String, #[schemars(range(max = 100))] pub quantity: u32 }
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "POST", path = "/lines")]
            async fn add(&self, lines: Vec<Line>);
        }
    }

    /// A string may be shorter than before.
    body_max_length_added => Error ["request-body-narrowed:bound-tightened"]
    before {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct Note { pub text: String }
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "POST", path = "/notes")]
            async fn add(&self, note: Note);
        }
    }
    after {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct Note { #[schemars(length(max = 280))] pub text: String }
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "POST", path = "/notes")]
            async fn add(&self, note: Note);
        }
    }

    /// A list must now have an item.
    body_min_items_added => Error ["request-body-narrowed:bound-tightened"]
    before {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct NewOrder { pub skus: Vec<String> }
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "POST", path = "/orders")]
            async fn place(&self, order: NewOrder);
        }
    }
    after {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct NewOrder { #[schemars(length(min = 1))] pub skus: Vec<String> }
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "POST", path = "/orders")]
            async fn place(&self, order: NewOrder);
        }
    }

    /// A list became a set: repeated items are rejected.
    body_unique_items_added => Error ["request-body-narrowed:unique-items-added"]
    before {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct Tags { pub tags: Vec<String> }
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "PUT", path = "/tags")]
            async fn tag(&self, tags: Tags);
        }
    }
    after {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct Tags { pub tags: std::collections::BTreeSet<String> }
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "PUT", path = "/tags")]
            async fn tag(&self, tags: Tags);
        }
    }

    /// A string must now have a format.
    body_format_added => Error ["request-body-narrowed:format-added"]
    before {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct Contact { pub email: String }
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "PUT", path = "/contact")]
            async fn set(&self, contact: Contact);
        }
    }
    after {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct Contact { #[schemars(email)] pub email: String }
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "PUT", path = "/contact")]
            async fn set(&self, contact: Contact);
        }
    }

    /// A new pattern: the check cannot tell which strings it rejects, so
    /// it reports a possibly breaking change.
    body_pattern_added => Error ["request-body-narrowed:pattern-added"]
    before {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct Product { pub sku: String }
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "PUT", path = "/products")]
            async fn put(&self, product: Product);
        }
    }
    after {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct Product { #[schemars(regex(pattern = r"^[A-Z0-9-]+$"))] pub sku: String }
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "PUT", path = "/products")]
            async fn put(&self, product: Product);
        }
    }

    /// The values of a map changed type.
    body_map_values_changed => Error ["request-body-narrowed:type-changed"]
    before {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct Labels { pub labels: std::collections::BTreeMap<String, String> }
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "PUT", path = "/labels")]
            async fn label(&self, labels: Labels);
        }
    }
    after {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct Labels { pub labels: std::collections::BTreeMap<String, u32> }
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "PUT", path = "/labels")]
            async fn label(&self, labels: Labels);
        }
    }

    /// A recursive type gained a required field: found once, where the
    /// recursion starts.
    body_recursive_type_changed => Error ["request-body-narrowed:required-property-added"]
    before {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct Category { pub name: String, #[serde(default)] pub children: Vec<Category> }
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "PUT", path = "/categories")]
            async fn put(&self, root: Category);
        }
    }
    after {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct Category { pub name: String, pub slug: String, #[serde(default)] pub children: Vec<Category> }
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "PUT", path = "/categories")]
            async fn put(&self, root: Category);
        }
    }

    /// A pair became a triple.
    body_tuple_grew => Error ["request-body-narrowed:bound-tightened", "request-body-widened:bound-loosened"]
    before {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct Point(pub f64, pub f64);
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "PUT", path = "/point")]
            async fn put(&self, point: Point);
        }
    }
    after {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct Point(pub f64, pub f64, pub f64);
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "PUT", path = "/point")]
            async fn put(&self, point: Point);
        }
    }

    /// The default an omitted body field takes changed.
    body_default_changed => Error ["default-changed:default-changed"]
    before {
        fn one() -> u32 { 1 }
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct Line { pub sku: String, #[serde(default = "one")] pub quantity: u32 }
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "POST", path = "/lines")]
            async fn add(&self, line: Line);
        }
    }
    after {
        fn ten() -> u32 { 10 }
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct Line { pub sku: String, #[serde(default = "ten")] pub quantity: u32 }
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "POST", path = "/lines")]
            async fn add(&self, line: Line);
        }
    }

    /// A number must now be a multiple of 5.
    body_multiple_of_added => Error ["request-body-narrowed:multiple-of-changed"]
    before {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct Slot { pub minutes: u32 }
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "POST", path = "/slots")]
            async fn book(&self, slot: Slot);
        }
    }
    after {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct Slot { #[schemars(extend("multipleOf" = 5))] pub minutes: u32 }
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "POST", path = "/slots")]
            async fn book(&self, slot: Slot);
        }
    }

    /// A constraint accord does not reason about (`not`) appeared: reported
    /// as possibly breaking rather than not at all.
    body_unsupported_keyword => Error ["request-body-narrowed:not-compared"]
    before {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct Name { pub name: String }
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "PUT", path = "/name")]
            async fn rename(&self, name: Name);
        }
    }
    after {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct Name { #[schemars(extend("not" = {"const": "admin"}))] pub name: String }
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "PUT", path = "/name")]
            async fn rename(&self, name: Name);
        }
    }
}
