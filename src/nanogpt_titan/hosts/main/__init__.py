"""The adapter to torchtitan main (the next release's shape): its batches counted in tokens, its
grain data pipeline, its cross entropy over a folded batch; the rest is the Configurable adapter
(`nanogpt_titan.hosts.configurable`)."""
