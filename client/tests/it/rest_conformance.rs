//! The catalog conformance suite (the checks `SqlCatalog` passes) through
//! `RestCatalog` against a running server, on SQLite and PostgreSQL.

mod sqlite {
    async fn harness() -> crate::server::TestServer {
        crate::server::TestServer::start(crate::common::Db::Sqlite).await
    }
    crate::conformance::conformance_tests!(harness);
}

mod postgres {
    async fn harness() -> crate::server::TestServer {
        crate::server::TestServer::start(crate::common::Db::Postgres).await
    }
    crate::conformance::conformance_tests!(harness);
}
