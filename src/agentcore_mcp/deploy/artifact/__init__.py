"""The artifact the deployer ships: a direct-code-deploy zip (default) or a container image.

- `sources`: what goes into the zip (the kit, the user's package, the entry point);
- `inputs`: `ZipInputs`, what a zip is made from, and its hashes;
- `dependencies`: the requirements, installed and zipped once per set in a trusted cache;
- `bytecode`: the modules compiled for the runtime's Python;
- `codezip`: the zip assembled in memory, hashed and size-checked (`build_zip`);
- `container`: the linux/arm64 image, built with Docker buildx and pushed.

The deploy step that uploads the artifact is `deploy/steps/build.py`.
"""
