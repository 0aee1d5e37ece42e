/*
 * background.h - "perfkitd attach PID --background": return to the shell
 * once attached, printing the session name, and keep recording as a
 * daemon whose messages go to a log file beside the database.
 */
#ifndef PK_BACKGROUND_H
#define PK_BACKGROUND_H

/*
 * Fork.  In the parent this waits until the child reports (through a
 * pipe) the session name or fails, prints the name, and returns the exit
 * status for main (0 attached, 1 failed): the parent must then exit.  In
 * the child it returns -1 and the child goes on attaching; errors it
 * reports before pk_background_ready() reach the user's terminal.
 */
int pk_background_fork(void);

/*
 * In the child, once recording: send the session name to the parent,
 * start a new session (setsid), and send stdin/stdout/stderr to log_path.
 */
void pk_background_ready(const char *session_name, const char *log_path);

#endif
