//! `#[component]`: parse the attribute and signature, validate, expand.

pub mod expand;
mod model;

use proc_macro2::TokenStream;
use quote::quote;

pub fn component(attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut function: syn::ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(_) => {
            let error = syn::Error::new_spanned(&item, "#[component] goes on a function").to_compile_error();
            return quote!(#error #item);
        }
    };
    match model::Component::parse(attr, &mut function) {
        Ok(component) => expand::expand(&component, &function),
        Err(error) => {
            // Keep the function so its own uses still compile: one mistake, one message.
            let error = error.to_compile_error();
            quote!(#error #function)
        }
    }
}
