"""Every (API group, resource, verb) the operator uses: the chart's ClusterRole must grant exactly
these (a test renders the chart and compares). Keep it next to the code that makes the calls."""

PERMISSIONS: frozenset[tuple[str, str, str]] = frozenset(
    {
        # Our resource: watched by kopf, status and finalizers patched.
        *(("llmobs.dev", "llmobservabilities", v) for v in ("get", "list", "watch", "patch")),
        ("llmobs.dev", "llmobservabilities/status", "get"),
        ("llmobs.dev", "llmobservabilities/status", "patch"),
        # Children: server-side apply (patch, which creates), drift watch, prune.
        *(
            (group, resource, verb)
            for group, resource in (
                ("", "configmaps"),
                ("", "services"),
                ("apps", "deployments"),
                ("apps", "statefulsets"),
                ("apps", "daemonsets"),
            )
            for verb in ("get", "list", "watch", "create", "patch", "delete")
        ),
        # The store's generated token Secret: created once, never read back or changed.
        ("", "secrets", "create"),
        # Counting instrumented pods; the webhook itself needs no pod permission.
        ("", "pods", "list"),
        # Namespace labels for namespace selectors (kopf index).
        ("", "namespaces", "get"),
        ("", "namespaces", "list"),
        ("", "namespaces", "watch"),
        # Events telling users what happened (kopf posts them).
        ("", "events", "create"),
        ("events.k8s.io", "events", "create"),
        # The webhook configuration the operator writes.
        *(
            ("admissionregistration.k8s.io", "mutatingwebhookconfigurations", v)
            for v in ("get", "list", "watch", "create", "patch", "delete")
        ),
        # kopf: resource discovery (CRDs) and peering between replicas.
        ("apiextensions.k8s.io", "customresourcedefinitions", "list"),
        ("apiextensions.k8s.io", "customresourcedefinitions", "watch"),
        *(("kopf.dev", "clusterkopfpeerings", v) for v in ("get", "list", "watch", "patch")),
    }
)
