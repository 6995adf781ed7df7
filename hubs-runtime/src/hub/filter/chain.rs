//! The filters of one endpoint chained around a call or hook.

use std::sync::Arc;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;

use super::{HubFilter, HubFilters, HubInvocation, HubLifetimeContext, InvocationResult, Next};
use crate::hub::{HubError, MethodFuture};

/// The filters of one endpoint, outermost first, in a form each call can hold on to.
#[derive(Clone)]
pub(crate) struct FilterChain(Arc<[Arc<dyn DynFilter>]>);

type Outcome = Result<InvocationResult, HubError>;

/// Applies one filter's method for one stage (invoke, connected, disconnected).
type Layer<'a, T> = dyn Fn(&'a dyn DynFilter, Next<'a, T>) -> BoxFuture<'a, T> + Send + Sync + 'a;

impl FilterChain {
    /// `global` filters first, then the endpoint's own, each in registration order.
    pub(crate) fn new(global: HubFilters, own: HubFilters) -> Self {
        Self(global.list.into_iter().chain(own.list).collect())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The bound call `method` wrapped in the filters.
    pub(crate) fn around_invocation(
        &self,
        invocation: HubInvocation,
        method: MethodFuture,
    ) -> MethodFuture {
        let filters = Arc::clone(&self.0);
        Box::pin(async move {
            let context = invocation.context.clone();
            let inner = Box::pin(
                method.map(|result| result.map(|encoded| InvocationResult { encoded, context })),
            );
            let layer: &Layer<'_, Outcome> = &|filter, next| filter.invoke(&invocation, next);
            chain(&filters, inner, layer)
                .await
                .map(|result| result.encoded)
        })
    }

    /// The connected hook wrapped in the filters.
    pub(crate) fn around_connected(
        &self,
        lifetime: HubLifetimeContext,
        hook: BoxFuture<'static, Result<(), HubError>>,
    ) -> BoxFuture<'static, Result<(), HubError>> {
        let filters = Arc::clone(&self.0);
        Box::pin(async move {
            let layer: &Layer<'_, Result<(), HubError>> =
                &|filter, next| filter.on_connected(&lifetime, next);
            chain(&filters, hook, layer).await
        })
    }

    /// The disconnected hook wrapped in the filters.
    pub(crate) fn around_disconnected(
        &self,
        lifetime: HubLifetimeContext,
        error: Option<HubError>,
        hook: BoxFuture<'static, ()>,
    ) -> BoxFuture<'static, ()> {
        let filters = Arc::clone(&self.0);
        Box::pin(async move {
            let layer: &Layer<'_, ()> =
                &|filter, next| filter.on_disconnected(&lifetime, error.as_ref(), next);
            chain(&filters, hook, layer).await
        })
    }
}

/// Runs `filters` outermost first around `inner`, which nothing polls unless every filter
/// calls its `next`.
fn chain<'a, T: 'a>(
    filters: &'a [Arc<dyn DynFilter>],
    inner: BoxFuture<'a, T>,
    layer: &'a Layer<'a, T>,
) -> BoxFuture<'a, T> {
    match filters.split_first() {
        None => inner,
        Some((filter, rest)) => {
            let next = Next {
                rest: Box::new(move || chain(rest, inner, layer)),
            };
            layer(&**filter, next)
        }
    }
}

/// `HubFilter` in a form that can be a trait object.
pub(super) trait DynFilter: Send + Sync {
    fn invoke<'a>(
        &'a self,
        invocation: &'a HubInvocation,
        next: Next<'a, Outcome>,
    ) -> BoxFuture<'a, Outcome>;

    fn on_connected<'a>(
        &'a self,
        lifetime: &'a HubLifetimeContext,
        next: Next<'a, Result<(), HubError>>,
    ) -> BoxFuture<'a, Result<(), HubError>>;

    fn on_disconnected<'a>(
        &'a self,
        lifetime: &'a HubLifetimeContext,
        error: Option<&'a HubError>,
        next: Next<'a, ()>,
    ) -> BoxFuture<'a, ()>;
}

impl<F: HubFilter> DynFilter for F {
    fn invoke<'a>(
        &'a self,
        invocation: &'a HubInvocation,
        next: Next<'a, Outcome>,
    ) -> BoxFuture<'a, Outcome> {
        Box::pin(HubFilter::invoke(self, invocation, next))
    }

    fn on_connected<'a>(
        &'a self,
        lifetime: &'a HubLifetimeContext,
        next: Next<'a, Result<(), HubError>>,
    ) -> BoxFuture<'a, Result<(), HubError>> {
        Box::pin(HubFilter::on_connected(self, lifetime, next))
    }

    fn on_disconnected<'a>(
        &'a self,
        lifetime: &'a HubLifetimeContext,
        error: Option<&'a HubError>,
        next: Next<'a, ()>,
    ) -> BoxFuture<'a, ()> {
        Box::pin(HubFilter::on_disconnected(self, lifetime, error, next))
    }
}
