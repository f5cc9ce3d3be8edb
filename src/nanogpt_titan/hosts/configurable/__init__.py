"""The adapter to torchtitan's Configurable API, which 0.3.0 and main share: the model as a
`BaseModel`, its components as `Configurable`s, a Trainer whose Config hands each component
what it derives from the run's settings, the recipes as config functions. What the two releases
do differently (how they count a batch, their dataloader) is each release's own subpackage:
`nanogpt_titan.hosts.v0_3`, `nanogpt_titan.hosts.main`."""
