// Package kafkatest gives tests a Kafka broker and a few helpers around it.
//
// Every Kafka-facing test in zohosink runs on whichever broker this package
// picks, so one suite proves the pipeline on both an in-process fake and a real
// Apache Kafka broker:
//
//	Brokers(t)
//	  ├─ $KAFKA_BROKERS set ("host:port,host:port")  → that cluster (CI: scripts/kafka-local)
//	  ├─ $ZOHOSINK_TESTCONTAINERS=1                    → an Apache Kafka container (testcontainers-go,
//	  │                                                 build tag "testcontainers"; skips without Docker)
//	  └─ otherwise                                     → an in-process kfake cluster, closed by t.Cleanup
//
//	CreateTopic(t, brokers, partitions) → a fresh, uniquely named topic whose
//	                                      partitions all have a leader
//	Produce(t, brokers, topic, recs...) → records acknowledged by the broker
//	Consume(t, brokers, topic, n)       → the first n records of a topic
//
// Guarantees: tests never share a topic (names are unique per call), a kfake
// cluster never outlives its test, and an unreachable $KAFKA_BROKERS fails the
// test at once with the address it tried instead of hanging until a timeout.
//
// The kfake cluster has three brokers (so leaders and the group coordinator sit
// on different nodes, as in production), creates topics on demand with one
// partition, and accepts session timeouts down to one second, like the broker
// of scripts/kafka-local.
package kafkatest
