"""Model-facing Ray actors: generation of n samples per problem and NLL scoring, with vLLM.

Also model loading: a local directory, a Hugging Face id, the packaged SmolLM2-135M, or a tiny
test model built on the fly.
"""
