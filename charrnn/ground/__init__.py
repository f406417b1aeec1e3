"""The ground floor: mathematics and plumbing that know nothing of the product -- the shared
array operations (ops), activations, optimisers, the vocabulary, the errors a user can cause,
and the option helper every user-facing default is declared with. Imports nothing of charrnn."""
