/* The pod sandbox ("pause") of the real node: sleeps until SIGINT/SIGTERM, reaps zombies. Built static by test/harness/node/images.ts. */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
static void onterm(int s) { (void)s; _exit(0); }
static void onchld(int s) { (void)s; while (waitpid(-1, NULL, WNOHANG) > 0) {} }
int main(void) {
  signal(SIGINT, onterm); signal(SIGTERM, onterm); signal(SIGCHLD, onchld);
  for (;;) pause();
}
