//! The API route table. Every `/api/v1` route is added here with the access it requires, so
//! no route can exist without a declared requirement; the table also feeds the authorization
//! test and the OpenAPI check.
//!
//! Authentication (who is calling) happens once per request in the auth middleware; this
//! module's guard only compares the caller's grants with the route's declared [`Access`].

use std::collections::BTreeMap;
use std::rc::Rc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::{from_fn, Next};
use actix_web::{web, FromRequest, Handler, HttpMessage, Responder, ResponseError, Route};

use crate::auth::{Access, Principal};
use crate::http::ApiError;

/// One declared route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteSpec {
    pub method: Method,
    /// Path under `/api/v1`, in actix syntax (`/alerts/{id}`).
    pub path: &'static str,
    pub access: Access,
}

/// Collects routes, then registers them grouped by path with an access guard each.
#[derive(Default)]
pub struct ApiRoutes {
    by_path: BTreeMap<&'static str, Vec<(RouteSpec, Route)>>,
}

impl ApiRoutes {
    /// Adds `method path` served by `handler`, requiring `access`.
    pub fn add<F, Args>(
        &mut self,
        method: Method,
        path: &'static str,
        access: Access,
        handler: F,
    ) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        let spec = RouteSpec {
            method,
            path,
            access,
        };
        self.by_path
            .entry(path)
            .or_default()
            .push((spec, web::route().to(handler)));
        self
    }

    pub fn get<F, Args>(&mut self, path: &'static str, access: Access, handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.add(Method::GET, path, access, handler)
    }

    pub fn post<F, Args>(&mut self, path: &'static str, access: Access, handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.add(Method::POST, path, access, handler)
    }

    pub fn patch<F, Args>(&mut self, path: &'static str, access: Access, handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.add(Method::PATCH, path, access, handler)
    }

    pub fn delete<F, Args>(&mut self, path: &'static str, access: Access, handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.add(Method::DELETE, path, access, handler)
    }

    /// Every declared route.
    pub fn specs(&self) -> Vec<RouteSpec> {
        self.by_path
            .values()
            .flat_map(|v| v.iter().map(|(s, _)| s.clone()))
            .collect()
    }

    /// Registers the routes on `cfg`.
    pub fn register(self, cfg: &mut web::ServiceConfig) {
        for (path, routes) in self.by_path {
            let access: Rc<Vec<(Method, Access)>> = Rc::new(
                routes
                    .iter()
                    .map(|(s, _)| (s.method.clone(), s.access))
                    .collect(),
            );
            let mut resource = web::resource(path);
            for (spec, route) in routes {
                resource = resource.route(route.method(spec.method));
            }
            let guard = move |req: ServiceRequest, next: Next<_>| {
                let access = access.clone();
                async move { check_access(&access, req, next).await }
            };
            cfg.service(resource.wrap(from_fn(guard)));
        }
    }
}

async fn check_access(
    access: &[(Method, Access)],
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let required = access
        .iter()
        .find(|(m, _)| m == req.method())
        .map(|(_, a)| *a);
    let refusal = {
        let ext = req.extensions();
        let principal = ext.get::<Principal>();
        match (required, principal) {
            // Unknown method: let the resource answer 405.
            (None | Some(Access::Public), _) => None,
            (Some(_), None) => Some(ApiError::unauthorized()),
            (Some(Access::Authenticated), Some(_)) => None,
            (Some(Access::Permission(p)), Some(principal)) => {
                (!principal.allows(p)).then(ApiError::forbidden)
            }
        }
    };
    match refusal {
        // Answered with the request, so the route pattern still labels logs and metrics.
        Some(e) => Ok(req.into_response(e.error_response()).map_into_right_body()),
        None => Ok(next.call(req).await?.map_into_left_body()),
    }
}
