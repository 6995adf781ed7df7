use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::*;

fn camel<T: Serialize>(value: &T) -> String {
    let payload = JsonPropertyNames::CamelCase.payload(Protocol::Json, value);
    serde_json::to_string(&payload).unwrap()
}

fn read<'de, T: Deserialize<'de>>(json: &'de str) -> Result<T, String> {
    let mut de = serde_json::Deserializer::from_str(json);
    let value = T::deserialize(CaseInsensitive(&mut de)).map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    Ok(value)
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Address {
    street_name: String,
    zip: u32,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
enum Shape {
    Circle { radius_px: f64 },
    Square(u32),
    Point,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Person {
    user_name: String,
    home_address: Option<Address>,
    shapes: Vec<Shape>,
    // Keys of maps are data: never renamed (.NET's `DictionaryKeyPolicy` is null).
    scores_by_game: BTreeMap<String, u8>,
    #[serde(rename = "ByteArray")]
    byte_array: Vec<u8>,
}

fn person() -> Person {
    Person {
        user_name: "ann".into(),
        home_address: Some(Address {
            street_name: "Main".into(),
            zip: 1,
        }),
        shapes: vec![
            Shape::Circle { radius_px: 1.5 },
            Shape::Square(2),
            Shape::Point,
        ],
        scores_by_game: BTreeMap::from([("tic_tac".to_string(), 3)]),
        byte_array: vec![1],
    }
}

const PERSON_CAMEL: &str = r#"{"userName":"ann","homeAddress":{"streetName":"Main","zip":1},"shapes":[{"Circle":{"radiusPx":1.5}},{"Square":2},"Point"],"scoresByGame":{"tic_tac":3},"ByteArray":[1]}"#;

#[test]
fn camel_cases_struct_and_variant_fields_at_every_depth_but_not_map_keys() {
    assert_eq!(camel(&person()), PERSON_CAMEL);
    let none = Person {
        home_address: None,
        ..person()
    };
    assert!(camel(&none).contains(r#""homeAddress":null"#));
}

#[test]
fn as_declared_and_messagepack_keep_the_names() {
    let person = person();
    let declared = JsonPropertyNames::AsDeclared.payload(Protocol::Json, &person);
    assert_eq!(
        serde_json::to_string(&declared).unwrap(),
        serde_json::to_string(&person).unwrap()
    );
    let msgpack = JsonPropertyNames::CamelCase.payload(Protocol::MessagePack, &person);
    assert_eq!(
        rmp_serde::to_vec_named(&msgpack).unwrap(),
        rmp_serde::to_vec_named(&person).unwrap()
    );
}

#[test]
fn reads_camel_pascal_and_snake_case_alike() {
    assert_eq!(read::<Person>(PERSON_CAMEL).unwrap(), person());
    let pascal = r#"{"UserName":"ann","HomeAddress":{"StreetName":"Main","Zip":1},"Shapes":[{"Circle":{"RadiusPx":1.5}},{"Square":2},"Point"],"ScoresByGame":{"tic_tac":3},"byteArray":[1]}"#;
    assert_eq!(read::<Person>(pascal).unwrap(), person());
    let declared = serde_json::to_string(&person()).unwrap();
    assert_eq!(read::<Person>(&declared).unwrap(), person());
}

#[test]
fn unknown_keys_are_skipped_or_refused_by_name() {
    let extra = r#"{"streetName":"x","zip":2,"floor_count":3}"#;
    assert_eq!(read::<Address>(extra).unwrap().zip, 2);

    #[derive(Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Strict {
        street_name: String,
    }
    assert!(read::<Strict>(r#"{"StreetName":"x"}"#).is_ok());
    let error = read::<Strict>(r#"{"streetName":"x","floorCount":1}"#).unwrap_err();
    assert!(error.contains("unknown field `floorCount`"), "{error}");
    let error = read::<Strict>("{}").unwrap_err();
    assert!(error.contains("missing field `street_name`"), "{error}");
}

#[test]
fn borrowed_fields_still_borrow_from_the_input() {
    #[derive(Deserialize)]
    struct Borrowed<'a> {
        first_name: &'a str,
    }
    let input = String::from(r#"{"firstName":"ann"}"#);
    let value: Borrowed<'_> = read(&input).unwrap();
    assert_eq!(value.first_name, "ann");
}

#[test]
fn flattened_fields_are_written_renamed_and_read_as_declared() {
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Outer {
        order_id: u32,
        #[serde(flatten)]
        address: Address,
    }
    let outer = Outer {
        order_id: 7,
        address: Address {
            street_name: "Main".into(),
            zip: 1,
        },
    };
    assert_eq!(
        camel(&outer),
        r#"{"orderId":7,"streetName":"Main","zip":1}"#
    );
    // serde reads a struct with a flattened field through its own buffer, out of the
    // adapter's reach: its keys must come as declared ...
    let declared = r#"{"order_id":7,"street_name":"Main","zip":1}"#;
    assert_eq!(read::<Outer>(declared).unwrap(), outer);
    assert!(read::<Outer>(&camel(&outer)).is_err());

    // ... unless the structs declare camelCase names themselves, which nothing renames.
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    #[serde(rename_all = "camelCase")]
    struct Inner {
        street_name: String,
    }
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    #[serde(rename_all = "camelCase")]
    struct CamelOuter {
        order_id: u32,
        #[serde(flatten)]
        inner: Inner,
    }
    let outer = CamelOuter {
        order_id: 7,
        inner: Inner {
            street_name: "Main".into(),
        },
    };
    let json = camel(&outer);
    assert_eq!(json, r#"{"orderId":7,"streetName":"Main"}"#);
    assert_eq!(read::<CamelOuter>(&json).unwrap(), outer);
}

#[test]
fn options_and_json_values_pass_through() {
    assert_eq!(read::<Option<Address>>("null").unwrap(), None);
    let value: serde_json::Value = read(r#"{"a_b":[1,{"c_d":null}]}"#).unwrap();
    assert_eq!(camel(&value), r#"{"a_b":[1,{"c_d":null}]}"#);
    let raw: Box<serde_json::value::RawValue> = read(r#"{"x_y": 1}"#).unwrap();
    assert_eq!(raw.get(), r#"{"x_y": 1}"#);
    assert_eq!(camel(&raw), r#"{"x_y": 1}"#);
}

#[test]
fn names_with_an_underscore_change_once_per_process() {
    for (declared, wire) in [
        ("user_name", "userName"),
        ("name", "name"),
        ("ByteArray", "ByteArray"),
        ("String_Prop", "stringProp"),
        ("a__b", "aB"),
        ("_", "_"),
        (
            "$serde_json::private::RawValue",
            "$serde_json::private::RawValue",
        ),
        ("kebab-case_name", "kebab-case_name"),
    ] {
        assert_eq!(json_property_name(declared), wire, "{declared}");
    }
    // The fast path: a name without `_` is the same string, not a copy.
    let plain = "name";
    assert!(std::ptr::eq(static_property_name(plain), plain));
    assert!(matches!(json_property_name(plain), Cow::Borrowed(_)));
    let first = static_property_name("item_count");
    assert_eq!(first, "itemCount");
    assert!(std::ptr::eq(first, static_property_name("item_count")));
}

#[test]
fn matches_keys_ignoring_case_and_underscores() {
    let fields: &'static [&'static str] = &["user_name", "id"];
    for key in ["user_name", "userName", "UserName", "USERNAME", "username"] {
        assert_eq!(declared_field(key, fields), Some("user_name"), "{key}");
    }
    assert_eq!(declared_field("ID", fields), Some("id"));
    assert_eq!(declared_field("user", fields), None);
}

#[test]
fn pins_the_bytes_of_a_dto_invocation_in_both_modes() {
    use crate::protocol::{HubProtocol, JsonProtocol};

    #[derive(Serialize)]
    struct ChatMessage {
        user_name: &'static str,
        #[serde(rename = "ByteArray")]
        byte_array: crate::Binary,
        reply_to: Option<u32>,
    }
    let message = ChatMessage {
        user_name: "ann",
        byte_array: crate::Binary(vec![1, 2]),
        reply_to: None,
    };
    let write = |names: JsonPropertyNames| {
        let arguments = (&message,);
        let payload = names.payload(Protocol::Json, &arguments);
        JsonProtocol::write_invocation(None, "Receive", &payload).unwrap()
    };
    assert_eq!(
        &write(JsonPropertyNames::CamelCase)[..],
        b"{\"type\":1,\"target\":\"Receive\",\"arguments\":[{\"userName\":\"ann\",\"ByteArray\":\"AQI=\",\"replyTo\":null}]}\x1e"
    );
    assert_eq!(
        &write(JsonPropertyNames::AsDeclared)[..],
        b"{\"type\":1,\"target\":\"Receive\",\"arguments\":[{\"user_name\":\"ann\",\"ByteArray\":\"AQI=\",\"reply_to\":null}]}\x1e"
    );
}
