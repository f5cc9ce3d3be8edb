"""The data layer: nanoGPT's data folders, their vocabularies, random windows, and texts
prepared into folders. It imports nothing of torchtitan or of the checkpoint layer.

| module          | job                                                                        |
|-----------------|----------------------------------------------------------------------------|
| `folder_format` | the files of a data folder (numpy only: `prepare` needs no torch)          |
| `folder`        | a data folder: memory-mapped `train.bin`/`val.bin`, ids checked            |
| `vocabulary`    | characters (`meta.pkl`) or GPT-2 BPE; `vocabulary.json` for checkpoints    |
| `windows`       | nanoGPT's random windows in numbered, resumable streams                    |
| `datasets`      | a run's datasets by name (`nanogpt_train`, ...) and the batch it draws     |
| `prepare`       | text files -> a data folder, streaming (`nanogpt-titan prepare`)           |
| `text`          | tiny Shakespeare found or downloaded; a text prepared once into the cache  |
"""
