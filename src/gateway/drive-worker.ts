// A tape drive's thread (drive-thread.ts says why and what runs where): its
// SSC unit over a ThreadDriveBay, the cartridge's store reached over the
// channel to the main thread, and the connections of its target handed over
// after login.
import { workerData } from 'node:worker_threads';
import { createTapeDriveUnit } from '../../scsi/ssc/drive.ts';
import { ScsiTarget } from '../../scsi/target.ts';
import { AdoptedConnections } from '../iscsi/adopted-connections.ts';
import type { ConnectionHandoff } from '../iscsi/connection-handoff.ts';
import { createLogger } from '../log.ts';
import { ThreadDriveBay } from '../tape/drive-thread-bay.ts';
import { RemoteCartridgeStore } from '../tape/remote-store.ts';
import { Rpc } from '../threads/rpc.ts';
import { reviveError, type DriveThreadData } from './drive-thread.ts';

const { setup, port } = workerData as DriveThreadData;
const logger = createLogger({ level: setup.logLevel }).child({ component: 'drive-thread', drive: setup.identity.name });
const rpc = new Rpc(port, reviveError);
const bay = new ThreadDriveBay(rpc, new RemoteCartridgeStore(rpc));
const unit = createTapeDriveUnit({ identity: setup.identity, bay, log: (message, fields) => logger.error(fields, message) });
const target = { name: setup.targetName, alias: setup.alias, scsi: new ScsiTarget({ luns: [{ lun: 0, unit }] }) };
const connections = new AdoptedConnections([target], logger.child({ component: 'iscsi' }));
/** The main thread's key of each connection: its id here. */
const ids = new Map<number, number>();

rpc.handle('iscsi.adopt', ({ key, handoff }: { key: number; handoff: ConnectionHandoff }) => {
  ids.set(
    key,
    connections.adopt(handoff, () => {
      ids.delete(key);
      rpc.notify('iscsi.ended', { key });
    }),
  );
});
rpc.handle('iscsi.close', ({ key, reason }: { key: number; reason: string }) => {
  const id = ids.get(key);
  if (id !== undefined) connections.close(id, reason);
});
rpc.handle('iscsi.logout', ({ key }: { key: number }) => {
  const id = ids.get(key);
  if (id !== undefined) connections.requestLogout(id);
});
