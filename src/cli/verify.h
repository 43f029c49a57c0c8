/* verify.h - the `verify` subcommand (see verify.c). */
#ifndef BRONZE_CLI_VERIFY_H
#define BRONZE_CLI_VERIFY_H

/* argv[0] is "verify". Returns the exit code. */
int bronze_verify_main(int argc, char **argv);

#endif
