"""The data layer: nanoGPT's data folders, their vocabularies, random windows, and texts
prepared into folders. It imports nothing of torchtitan or of the checkpoint layer.

| module        | job                                                                      |
|---------------|--------------------------------------------------------------------------|
| `layout`      | the files of a data folder                                               |
| `folder`      | a data folder: memory-mapped `train.bin`/`val.bin`, ids checked          |
| `vocabulary`  | characters (`meta.pkl`) or GPT-2 BPE; `vocabulary.json` for checkpoints  |
| `windows`     | nanoGPT's random windows in numbered, resumable streams                  |
| `prepare`     | text files -> a data folder, streaming (`nanogpt-titan prepare`)         |
| `text`        | tiny Shakespeare found or downloaded; a text prepared once into the cache |
"""
