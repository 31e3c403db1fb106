//! The registry of REST endpoints, filled while the router is built: each endpoint's path,
//! rate-limit class, summary and request schema.
//!
//! [`Routes`] is the only way to add a `/v2/vectordb/...` route (its router is private to this
//! file), and it records every route it adds. `/v2/openapi.json` is made from that record, so
//! the document lists exactly the endpoints served, with the schemas of the very types their
//! bodies are parsed into; and the tests walk the record to check that every endpoint has a
//! rate-limit class.

use axum::routing::MethodRouter;
use schemars::JsonSchema;
use schemars::generate::{SchemaGenerator, SchemaSettings};
use serde_json::{Map, Value as Json};

use crate::ratelimit::RequestClass;
use crate::service::{MilvusApi, rpc_class};

/// Where the endpoints live.
pub(crate) const PREFIX: &str = "/v2/vectordb/";
/// Where the request schemas live in the OpenAPI document (`#/components/schemas/<name>`).
const SCHEMAS_PATH: &str = "/components/schemas";

/// An endpoint's rate-limit class: the class of the gRPC method it translates into, or its
/// own for an endpoint with no gRPC counterpart (API keys).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Class {
    /// The class of this RPC (snake-case name, as in the service table).
    Rpc(&'static str),
    Own(RequestClass),
}

impl Class {
    /// The request class; `None` for an RPC name the service does not know (a test makes sure
    /// no endpoint has one).
    pub(crate) fn resolve(self) -> Option<RequestClass> {
        match self {
            Class::Rpc(rpc) => rpc_class(rpc),
            Class::Own(class) => Some(class),
        }
    }
}

impl From<&'static str> for Class {
    fn from(rpc: &'static str) -> Class {
        Class::Rpc(rpc)
    }
}

impl From<RequestClass> for Class {
    fn from(class: RequestClass) -> Class {
        Class::Own(class)
    }
}

/// One endpoint as recorded.
#[derive(Clone, Debug)]
pub(crate) struct Endpoint {
    /// The whole path, `/v2/vectordb/<category>/<action>`.
    pub(crate) path: String,
    pub(crate) class: Class,
    /// One line for the document.
    pub(crate) summary: &'static str,
    /// The JSON Schema of the request body (a `$ref` into the schemas).
    pub(crate) request: Json,
}

/// The router being built and the record of what it serves.
pub(crate) struct Routes {
    api: MilvusApi,
    router: axum::Router,
    endpoints: Vec<Endpoint>,
    schemas: SchemaGenerator,
}

/// What [`Routes::finish`] returns: the router, the record, and the request schemas by name.
pub(crate) struct Built {
    pub(crate) router: axum::Router,
    pub(crate) endpoints: Vec<Endpoint>,
    pub(crate) schemas: Map<String, Json>,
}

impl Routes {
    pub(crate) fn new(api: &MilvusApi) -> Routes {
        // JSON Schema 2020-12, what OpenAPI 3.1 uses, with the definitions where OpenAPI
        // keeps them. Deserialize contract: `#[serde(default)]` fields are not required.
        let settings = SchemaSettings::draft2020_12().with(|s| {
            s.definitions_path = SCHEMAS_PATH.into();
            s.meta_schema = None;
        });
        Routes {
            api: api.clone(),
            router: axum::Router::new(),
            endpoints: Vec::new(),
            schemas: settings.into_generator(),
        }
    }

    pub(crate) fn api(&self) -> &MilvusApi {
        &self.api
    }

    /// Serves `method_router` at `/v2/vectordb/<path>` and records it with the schema of `T`,
    /// the type its body is parsed into.
    pub(crate) fn add<T: JsonSchema>(
        &mut self,
        path: &str,
        class: Class,
        summary: &'static str,
        method_router: MethodRouter,
    ) {
        let path = format!("{PREFIX}{path}");
        let request = self.schemas.subschema_for::<T>().to_value();
        let router = std::mem::take(&mut self.router);
        self.router = router.route(&path, method_router);
        self.endpoints.push(Endpoint { path, class, summary, request });
    }

    pub(crate) fn finish(mut self) -> Built {
        let schemas = self.schemas.take_definitions(true);
        Built { router: self.router, endpoints: self.endpoints, schemas }
    }
}
