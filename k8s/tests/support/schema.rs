//! The vendored PyTorchJob v1 CRD schema (schemas/vendor/pytorchjob), in strict mode: unknown
//! fields are errors, as with the API server's strict field validation.

use serde_json::Value;
use std::path::Path;

pub struct PyTorchJobSchema {
    validator: jsonschema::Validator,
}

impl PyTorchJobSchema {
    pub fn strict() -> Self {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .ancestors()
            .map(|dir| dir.join("schemas/vendor/pytorchjob/pytorchjob_v1_schema.json"))
            .find(|p| p.exists())
            .expect("schemas/vendor/pytorchjob/pytorchjob_v1_schema.json above the package");
        let mut schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        forbid_unknown_fields(&mut schema);
        PyTorchJobSchema { validator: jsonschema::draft4::new(&schema).expect("the CRD schema compiles") }
    }

    /// Every violation as `path: message`; empty when the object is valid.
    pub fn errors(&self, object: &Value) -> Vec<String> {
        self.validator.iter_errors(object).map(|e| format!("{}: {e}", e.instance_path())).collect()
    }
}

/// `additionalProperties: false` on every node with `properties`, unless it already says
/// something about extra fields.
fn forbid_unknown_fields(node: &mut Value) {
    match node {
        Value::Object(map) => {
            if map.contains_key("properties")
                && !map.contains_key("additionalProperties")
                && !map.contains_key("x-kubernetes-preserve-unknown-fields")
            {
                map.insert("additionalProperties".into(), Value::Bool(false));
            }
            map.values_mut().for_each(forbid_unknown_fields);
        }
        Value::Array(items) => items.iter_mut().for_each(forbid_unknown_fields),
        _ => {}
    }
}
