//! Sets of provided types that are set up for their side effects.

use std::future::Future;

use crate::error::ProviderError;
use crate::provider::{Provides, Registry};
use crate::resolver::Resolver;

/// A type, or a tuple of up to sixteen types, that registry `R` provides: set
/// up for their side effects (an auth guard, a rate limit, an audit record)
/// without a handler receiving them, or set up together
/// ([`Together`](crate::Together)).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a set of types provided by `{R}`",
    label = "every type here needs a provider in `{R}`",
    note = "name one provided type, or a tuple of them: `(AuthGuard, RateLimit)`"
)]
pub trait ProvidedSet<R: Registry> {
    /// The indexes of the types' providers in the registry.
    #[doc(hidden)]
    const INDICES: &'static [usize];

    /// Sets up each type in this scope if it is not there yet: those that
    /// wait and do not depend on each other together
    /// ([`Resolver::set_up_together`]), then the rest in order.
    fn ensure_all(resolver: &mut Resolver<'_, R>) -> impl Future<Output = Result<(), ProviderError>> + Send;
}

macro_rules! provided_set {
    ($($name:ident),+) => {
        impl<R: Registry, $($name),+> ProvidedSet<R> for ($($name,)+)
        where
            $(R: Provides<$name>, $name: 'static,)+
        {
            const INDICES: &'static [usize] = &[$(<R as Provides<$name>>::INDEX),+];

            async fn ensure_all(resolver: &mut Resolver<'_, R>) -> Result<(), ProviderError> {
                resolver.set_up_together(<Self as ProvidedSet<R>>::INDICES, true).await?;
                $(resolver.ensure::<$name>().await?;)+
                Ok(())
            }
        }
    };
}

provided_set!(A);
provided_set!(A, B);
provided_set!(A, B, C);
provided_set!(A, B, C, D);
provided_set!(A, B, C, D, E);
provided_set!(A, B, C, D, E, F);
provided_set!(A, B, C, D, E, F, G);
provided_set!(A, B, C, D, E, F, G, H);
provided_set!(A, B, C, D, E, F, G, H, I);
provided_set!(A, B, C, D, E, F, G, H, I, J);
provided_set!(A, B, C, D, E, F, G, H, I, J, K);
provided_set!(A, B, C, D, E, F, G, H, I, J, K, L);
provided_set!(A, B, C, D, E, F, G, H, I, J, K, L, M);
provided_set!(A, B, C, D, E, F, G, H, I, J, K, L, M, N);
provided_set!(A, B, C, D, E, F, G, H, I, J, K, L, M, N, O);
provided_set!(A, B, C, D, E, F, G, H, I, J, K, L, M, N, O, P);
