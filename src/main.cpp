// partshift entry point; everything else is in cli::run.
#include "partshift/cli/commands.hpp"

int main(int argc, char** argv) {
    return partshift::cli::run(argc, argv);
}
