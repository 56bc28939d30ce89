//! `#[pipeline]`: parse, rewrite the body's component calls into task builders, expand.

mod expand;
mod model;
mod rewrite;

use proc_macro2::TokenStream;
use quote::quote;

pub fn pipeline(attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut function: syn::ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(_) => {
            let error = syn::Error::new_spanned(&item, "#[pipeline] goes on a function").to_compile_error();
            return quote!(#error #item);
        }
    };
    match model::Pipeline::parse(attr, &mut function) {
        Ok(pipeline) => expand::expand(&pipeline, &function),
        Err(error) => {
            let error = error.to_compile_error();
            let name = &function.sig.ident;
            let vis = &function.vis;
            // A stand-in so that code naming the pipeline reports nothing further.
            quote! {
                #error
                #[allow(non_camel_case_types)]
                #vis struct #name;
            }
        }
    }
}
