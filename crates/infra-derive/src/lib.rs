//! `#[derive(Resource)]`: declares a typed infra resource.
//!
//! ```ignore
//! #[derive(Debug, Clone, serde::Serialize, Resource)]
//! #[resource(
//!     type = "aws:ec2:Subnet",
//!     outputs(id: SubnetId, arn: String),
//!     replace = "delete_before_create",   // optional, default create_before_destroy
//!     readiness = "on_id",                // optional, default on_available
//!     validate = validate_subnet,         // optional fn(&Self, &mut ValidationContext)
//!     normalise = canonical,              // optional fn(&mut Self): the provider's canonical form
//!     validate_stack = in_vpc,            // optional fn(&ResourceDecl, &Stack) -> Vec<Diagnostic>
//!     validate_type = unique_names,       // optional fn(&[&ResourceDecl], &Stack) -> Vec<Diagnostic>:
//!                                         //   once for every resource of the type (uniqueness)
//!     needs = after_gateway,              // optional fn(&ResourceDecl, &ResourceDecl, &Stack) -> bool:
//!                                         //   an ordering need beyond the references
//!     lookup,                             // optional: a lookup (a data source), read, never created
//!     keeps_data = "on_delete",           // optional: holds data; the Option<OnDelete> field that
//!                                         //   decides what a delete does with it
//!     keeps_data_when = "holds_objects",  // optional: a bool output, false when there is no data
//!     crate = "::infra_core",             // optional path to infra-core
//! )]
//! pub struct Subnet {
//!     #[resource(force_new)]
//!     pub vpc_id: Input<VpcId>,
//!     #[resource(secret)]
//!     pub token: Option<String>,
//!     #[resource(set)]                    // a list compared without order
//!     pub security_group_ids: Vec<Input<SecurityGroupId>>,
//! }
//! ```
//!
//! Generates `impl Resource for Subnet` (its `Schema`: type name, force-new,
//! secret and reference fields, outputs) and `SubnetOutputs`, the accessor
//! that a `Handle<Subnet>` derefs to (`subnet.id()` is an `Output<SubnetId>`).
//! A field whose type mentions `Input` or `Output` is a reference field.

use proc_macro::TokenStream;
use proc_macro2::TokenStream as TokenStream2;
use quote::{format_ident, quote};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Error, Fields, Ident, LitStr, Path, Token, Type};

/// Derives `infra_core::Resource`. See the crate documentation.
#[proc_macro_derive(Resource, attributes(resource))]
pub fn derive_resource(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as DeriveInput);
    match expand(&input) {
        Ok(ts) => ts.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

struct OutputDecl {
    name: Ident,
    ty: Type,
}

impl Parse for OutputDecl {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let name: Ident = input.parse()?;
        input.parse::<Token![:]>()?;
        let ty: Type = input.parse()?;
        Ok(OutputDecl { name, ty })
    }
}

#[derive(Default)]
struct TypeAttrs {
    type_name: Option<LitStr>,
    outputs: Vec<OutputDecl>,
    replace: Option<LitStr>,
    readiness: Option<LitStr>,
    validate: Option<Path>,
    normalise: Option<Path>,
    validate_stack: Option<Path>,
    validate_type: Option<Path>,
    needs: Option<Path>,
    lookup: bool,
    keeps_data: Option<LitStr>,
    keeps_data_when: Option<LitStr>,
    krate: Option<Path>,
}

fn parse_type_attrs(input: &DeriveInput) -> syn::Result<TypeAttrs> {
    let mut attrs = TypeAttrs::default();
    // Problems with values are collected so that every one is reported in
    // one compile; only malformed syntax stops parsing an attribute.
    let mut problems: Vec<Error> = Vec::new();
    let mut saw_type = false;
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("resource")) {
        let result = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("type") {
                saw_type = true;
                let lit: LitStr = meta.value()?.parse()?;
                let v = lit.value();
                let parts: Vec<&str> = v.split(':').collect();
                if parts.len() != 3 || parts.iter().any(|p| p.is_empty()) {
                    problems.push(Error::new(
                        lit.span(),
                        "`type` must look like \"provider:service:Kind\", e.g. \"aws:ec2:Vpc\"",
                    ));
                }
                attrs.type_name = Some(lit);
            } else if meta.path.is_ident("outputs") {
                let content;
                syn::parenthesized!(content in meta.input);
                let list: Punctuated<OutputDecl, Token![,]> =
                    content.parse_terminated(OutputDecl::parse, Token![,])?;
                for o in list {
                    if attrs.outputs.iter().any(|x| x.name == o.name) {
                        problems.push(Error::new(
                            o.name.span(),
                            format!("output `{}` is declared twice", o.name),
                        ));
                        continue;
                    }
                    attrs.outputs.push(o);
                }
            } else if meta.path.is_ident("replace") {
                let lit: LitStr = meta.value()?.parse()?;
                if !matches!(
                    lit.value().as_str(),
                    "create_before_destroy" | "delete_before_create"
                ) {
                    problems.push(Error::new(
                        lit.span(),
                        "`replace` must be \"create_before_destroy\" or \"delete_before_create\"",
                    ));
                }
                attrs.replace = Some(lit);
            } else if meta.path.is_ident("readiness") {
                let lit: LitStr = meta.value()?.parse()?;
                if !matches!(lit.value().as_str(), "on_id" | "on_available") {
                    problems.push(Error::new(
                        lit.span(),
                        "`readiness` must be \"on_id\" or \"on_available\"",
                    ));
                }
                attrs.readiness = Some(lit);
            } else if meta.path.is_ident("validate") {
                attrs.validate = Some(meta.value()?.parse()?);
            } else if meta.path.is_ident("normalise") {
                attrs.normalise = Some(meta.value()?.parse()?);
            } else if meta.path.is_ident("validate_stack") {
                attrs.validate_stack = Some(meta.value()?.parse()?);
            } else if meta.path.is_ident("validate_type") {
                attrs.validate_type = Some(meta.value()?.parse()?);
            } else if meta.path.is_ident("needs") {
                attrs.needs = Some(meta.value()?.parse()?);
            } else if meta.path.is_ident("lookup") {
                attrs.lookup = true;
            } else if meta.path.is_ident("keeps_data") {
                attrs.keeps_data = Some(meta.value()?.parse()?);
            } else if meta.path.is_ident("keeps_data_when") {
                attrs.keeps_data_when = Some(meta.value()?.parse()?);
            } else if meta.path.is_ident("crate") {
                let lit: LitStr = meta.value()?.parse()?;
                attrs.krate = Some(lit.parse()?);
            } else {
                return Err(meta.error(
                    "unknown `resource` key; expected one of: type, outputs, replace, readiness, validate, normalise, validate_stack, validate_type, needs, lookup, keeps_data, keeps_data_when, crate",
                ));
            }
            Ok(())
        });
        if let Err(e) = result {
            problems.push(e);
        }
    }
    if !saw_type {
        problems.push(Error::new(
            input.ident.span(),
            "missing #[resource(type = \"provider:service:Kind\")] on the struct",
        ));
    }
    let mut iter = problems.into_iter();
    match iter.next() {
        Some(mut first) => {
            for e in iter {
                first.combine(e);
            }
            Err(first)
        }
        None => Ok(attrs),
    }
}

#[derive(Default)]
struct FieldAttrs {
    force_new: bool,
    secret: bool,
    reference: bool,
    set: bool,
}

fn parse_field_attrs(field: &syn::Field) -> syn::Result<FieldAttrs> {
    let mut out = FieldAttrs::default();
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("resource")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("force_new") {
                out.force_new = true;
            } else if meta.path.is_ident("secret") {
                out.secret = true;
            } else if meta.path.is_ident("reference") {
                out.reference = true;
            } else if meta.path.is_ident("set") {
                out.set = true;
            } else {
                return Err(
                    meta.error("unknown field attribute; expected one of: force_new, secret, reference, set")
                );
            }
            Ok(())
        })?;
    }
    Ok(out)
}

/// The serialized name of a field: `#[serde(rename = "...")]` or its ident.
/// Returns `None` for `#[serde(skip)]` fields.
fn serde_name(field: &syn::Field, ident: &Ident) -> Option<String> {
    let mut name = ident.to_string().trim_start_matches("r#").to_owned();
    let mut skip = false;
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("serde")) {
        // Other serde keys are serde's business; ignore what we do not need.
        let _ = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                if let Ok(lit) = meta.value().and_then(|v| v.parse::<LitStr>()) {
                    name = lit.value();
                }
            } else if meta.path.is_ident("skip") || meta.path.is_ident("skip_serializing") {
                skip = true;
            } else if let Ok(v) = meta.value() {
                let _ = v.parse::<syn::Expr>();
            }
            Ok(())
        });
    }
    (!skip).then_some(name)
}

/// True when serde may leave the field out (`skip_serializing_if`,
/// `skip`) and it has no `default` of its own.
fn may_be_omitted(field: &syn::Field) -> bool {
    let mut omitted = false;
    let mut has_default = false;
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let _ = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("skip_serializing_if") || meta.path.is_ident("skip") {
                omitted = true;
            } else if meta.path.is_ident("default") {
                has_default = true;
            }
            if let Ok(v) = meta.value() {
                let _ = v.parse::<syn::Expr>();
            }
            Ok(())
        });
    }
    omitted && !has_default
}

fn mentions_reference(ty: &Type) -> bool {
    let text = quote!(#ty).to_string();
    text.split(|c: char| !c.is_alphanumeric() && c != '_').any(|tok| tok == "Input" || tok == "Output")
}

fn expand(input: &DeriveInput) -> syn::Result<TokenStream2> {
    let fields = match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(named) => &named.named,
            _ => {
                return Err(Error::new(
                    input.ident.span(),
                    "#[derive(Resource)] needs a struct with named fields (one per input)",
                ));
            }
        },
        _ => {
            return Err(Error::new(
                input.ident.span(),
                "#[derive(Resource)] only works on structs: a resource is a struct of its inputs",
            ));
        }
    };
    if !input.generics.params.is_empty() {
        return Err(Error::new(
            input.generics.span(),
            "#[derive(Resource)] does not support generic resource types",
        ));
    }
    let attrs = parse_type_attrs(input)?;
    let krate: Path = attrs.krate.clone().unwrap_or_else(|| syn::parse_quote!(::infra_core));

    let mut field_specs = Vec::new();
    let mut mirror_fields = Vec::new();
    let mut moves = Vec::new();
    let mut errors: Option<Error> = None;
    for f in fields {
        let Some(ident) = &f.ident else { continue };
        let ty = &f.ty;
        let serde_attrs: Vec<&syn::Attribute> =
            f.attrs.iter().filter(|a| a.path().is_ident("serde")).collect();
        // A field that may be left out when serialized is defaulted when
        // read back.
        let default = may_be_omitted(f).then(|| quote!(#[serde(default)]));
        mirror_fields.push(quote! { #(#serde_attrs)* #default #ident: #ty });
        moves.push(quote! { #ident: m.#ident });
        let fa = match parse_field_attrs(f) {
            Ok(fa) => fa,
            Err(e) => {
                match &mut errors {
                    Some(all) => all.combine(e),
                    None => errors = Some(e),
                }
                continue;
            }
        };
        let Some(name) = serde_name(f, ident) else {
            continue;
        };
        let force_new = fa.force_new;
        let secret = fa.secret;
        let reference = fa.reference || mentions_reference(&f.ty);
        let set = fa.set;
        field_specs.push(quote! {
            #krate::FieldSpec {
                name: #name,
                force_new: #force_new,
                secret: #secret,
                reference: #reference,
                set: #set,
            }
        });
    }
    if let Some(e) = errors {
        return Err(e);
    }

    let ident = &input.ident;
    let vis = &input.vis;
    let outputs_ident = format_ident!("{}Outputs", ident);
    let type_name = attrs.type_name.as_ref().map(LitStr::value).unwrap_or_default();
    let output_specs = attrs.outputs.iter().map(|o| {
        let name = o.name.to_string();
        let ty = &o.ty;
        let ty_name = quote!(#ty).to_string().replace(' ', "");
        quote! { #krate::OutputSpec { name: #name, type_name: #ty_name } }
    });
    let accessors = attrs.outputs.iter().map(|o| {
        let name = &o.name;
        let name_str = name.to_string();
        let ty = &o.ty;
        let doc = format!("The `{name_str}` output, known after apply.");
        quote! {
            #[doc = #doc]
            pub fn #name(&self) -> #krate::Output<#ty> {
                #krate::Output::new(self.address.clone(), #name_str)
            }
        }
    });
    let replace = match attrs.replace.as_ref().map(LitStr::value).as_deref() {
        Some("delete_before_create") => quote!(#krate::ReplaceOrder::DeleteBeforeCreate),
        _ => quote!(#krate::ReplaceOrder::CreateBeforeDestroy),
    };
    let readiness = match attrs.readiness.as_ref().map(LitStr::value).as_deref() {
        Some("on_id") => quote!(#krate::Readiness::OnId),
        _ => quote!(#krate::Readiness::OnAvailable),
    };
    let validate = attrs.validate.as_ref().map(|path| {
        quote! {
            fn validate(&self, ctx: &mut #krate::ValidationContext<'_>) {
                #path(self, ctx)
            }
        }
    });
    let normalise = attrs.normalise.as_ref().map(|path| {
        quote! {
            fn normalise(&mut self) {
                #path(self)
            }
        }
    });
    let check_id = match attrs.outputs.iter().find(|o| o.name == "id") {
        Some(o) => {
            let ty = &o.ty;
            quote!(::core::option::Option::Some(<#ty as #krate::typed::IdCheck>::problem))
        }
        None => quote!(::core::option::Option::None),
    };
    let needs = match &attrs.needs {
        Some(path) => quote!(::core::option::Option::Some(#path)),
        None => quote!(::core::option::Option::None),
    };
    let type_validate = match &attrs.validate_type {
        Some(path) => quote!(::core::option::Option::Some(#path)),
        None => quote!(::core::option::Option::None),
    };
    let stack_validate = match &attrs.validate_stack {
        Some(path) => quote!(::core::option::Option::Some(#path)),
        None => quote!(::core::option::Option::None),
    };
    let lookup = attrs.lookup;
    let keeps_data = match &attrs.keeps_data {
        Some(field) => {
            let when = match &attrs.keeps_data_when {
                Some(w) => quote!(::core::option::Option::Some(#w)),
                None => quote!(::core::option::Option::None),
            };
            quote!(::core::option::Option::Some(#krate::data::KeepsData { field: #field, when: #when }))
        }
        None => quote!(::core::option::Option::None),
    };
    let outputs_doc = format!("Typed outputs of [`{ident}`], reached through its `Handle`.");
    let out_ident = format_ident!("{}Out", ident);
    let out_doc = format!(
        "The outputs of an observed [`{ident}`], as its provider reports them (serialized into the \
         engine's outputs; the field names are the outputs' names)."
    );
    let out_fields = attrs.outputs.iter().map(|o| {
        let name = &o.name;
        let ty = &o.ty;
        quote! { pub #name: #ty }
    });
    let mirror_ident = format_ident!("__{}Resolved", ident);
    let serde_path = quote!(#krate::__private::serde).to_string().replace(' ', "");

    Ok(quote! {
        #[doc = #outputs_doc]
        #[derive(Clone, Debug)]
        #vis struct #outputs_ident {
            address: #krate::Address,
        }

        impl #outputs_ident {
            #(#accessors)*
        }

        impl #krate::ResourceOutputs for #outputs_ident {
            fn for_address(address: #krate::Address) -> Self {
                #outputs_ident { address }
            }
        }

        #[doc = #out_doc]
        #[derive(Clone, Debug, #krate::__private::serde::Serialize)]
        #[serde(crate = #serde_path)]
        #vis struct #out_ident {
            #(#out_fields),*
        }

        /// Resolved inputs read back into the declaration (what a provider
        /// receives: references replaced by IDs, secrets revealed).
        impl<'de> #krate::__private::serde::Deserialize<'de> for #ident {
            fn deserialize<D: #krate::__private::serde::Deserializer<'de>>(
                d: D,
            ) -> ::core::result::Result<Self, D::Error> {
                #[derive(#krate::__private::serde::Deserialize)]
                #[serde(crate = #serde_path)]
                #[allow(non_camel_case_types)]
                struct #mirror_ident {
                    #(#mirror_fields),*
                }
                let m = <#mirror_ident as #krate::__private::serde::Deserialize>::deserialize(d)?;
                ::core::result::Result::Ok(#ident { #(#moves),* })
            }
        }

        impl #krate::Resource for #ident {
            type Outputs = #outputs_ident;
            const SCHEMA: #krate::Schema = #krate::Schema {
                type_name: #type_name,
                fields: &[#(#field_specs),*],
                outputs: &[#(#output_specs),*],
                replace_order: #replace,
                readiness: #readiness,
                stack_validate: #stack_validate,
                type_validate: #type_validate,
                check_id: #check_id,
                needs: #needs,
                lookup: #lookup,
                keeps_data: #keeps_data,
            };
            #validate
            #normalise
        }
    })
}
