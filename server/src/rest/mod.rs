//! The Iceberg REST catalog API: bodies ([`model`]), request extraction ([`extract`])
//! and the route table with its handlers ([`routes`]).
//!
//! Routes follow the OpenAPI document (`/v1/config`, `/v1/{prefix}/namespaces/...`);
//! handlers are thin: identifiers and bodies are decoded here, the work is done by the
//! catalog (`floe-catalog`) and the commit rules of `floe-spec`.

pub mod appends;
pub mod extract;
pub mod load;
pub mod maintenance;
pub mod model;
pub mod openapi;
pub mod plan;
pub mod routes;
