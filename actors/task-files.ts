// Where a task's files live, as the actors need to know it. The spool
// (server/spool.ts) names and removes them; actors never build a path.
export interface TaskFiles {
  /** the decoded audio of task `taskId` while it is transcribed */
  pcmPath(taskId: string): string;
  /** Removes a task's files (streams have none); a file already gone is fine. With `task`, its shared copy too (cluster mode). */
  remove(record: { task?: { id: string }; audioPath: string; pcmPath: string }): Promise<void>;
  /** Makes a new upload readable by every hub before its task is recorded (cluster mode; nothing to do on one machine). */
  share?(taskId: string, audioPath: string): Promise<void>;
  /** The files of a task this hub resumes, on this hub's disk: the upload fetched from the shared copy if it is not here. */
  localize?(record: { task: { id: string }; audioPath: string; pcmPath: string }): Promise<{ audioPath: string; pcmPath: string }>;
}
