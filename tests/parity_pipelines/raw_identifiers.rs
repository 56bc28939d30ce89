use kfp::prelude::*;

#[derive(ComponentOutputs)]
pub struct Keywords {
    pub r#loop: String,
}

#[component(image = "python:3.11")]
pub fn keywords(r#type: String, r#match: i64) -> Keywords {
    let _ = r#match;
    Keywords { r#loop: r#type }
}

#[component(image = "python:3.11")]
pub fn consume(text: String) -> Result<()> {
    let _ = text;
    Ok(())
}

#[pipeline(name = "raw-identifiers")]
pub fn raw_identifiers(#[default(1)] r#move: i64) {
    let made = keywords(r#type = "kind", r#match = r#move);
    consume(made.outputs.r#loop);
}
