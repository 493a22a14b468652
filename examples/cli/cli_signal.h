/* Ctrl-C in bitnet-cli. The first stops the text being generated at the next
 * token, or a prompt being decoded at the next layer (generation then ends
 * with its summary; a chat returns to its prompt); one at the prompt, or a
 * second within a second, ends the program; a third while the second is not
 * yet seen kills it. */
#ifndef BN_CLI_SIGNAL_H
#define BN_CLI_SIGNAL_H

/* Exit status after an interrupt, as a shell reports a SIGINT death. */
#define BN_CLI_INTERRUPTED 130

/* Installs the handler (without SA_RESTART: a read at the prompt returns). */
void bn_cli_signal_init(void);

/* 1 when a Ctrl-C came that was not taken yet (safe from any thread). */
int bn_cli_interrupt_pending(void);

/* 1 when a Ctrl-C came that was not taken yet; takes it. */
int bn_cli_take_interrupt(void);

/* 1 when the program should end: a second Ctrl-C within a second. */
int bn_cli_quit_requested(void);

#endif
