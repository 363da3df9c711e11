"""Export: what Flux and Argo CD need to reconcile a KfDef, from the same render as ``apply``.

``tree`` turns a render into engine-neutral facts (the objects that go to Git, the Secrets that
are seeded instead, waves, protections, fields controllers own); ``flux`` and ``argocd`` write
them in each engine's terms; ``layout`` places several clusters' exports in one repository,
sharing what renders identically. These are pure: files are returned as paths mapped to
objects, and the workflow writes them. ``sops`` encrypts the credential Secrets of a Flux export
with the ``sops`` command (``--sops-age-recipient``), the one part that runs a process.
"""
