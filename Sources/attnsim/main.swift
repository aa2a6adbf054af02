import AttnCLI
