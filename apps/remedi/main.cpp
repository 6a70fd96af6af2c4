// The `remedi` program: the command line of apps/remedi/cli.cpp.
#include "commands.h"

int main(int argc, char** argv) { return remedi::cli::run(argc, argv, {}); }
