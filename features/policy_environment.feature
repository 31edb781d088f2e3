@policy @environment
Feature: The Microsoft environment the admin describes: Graph, EWS URL, hybrid and MAPI
  Office 365 authorized with Graph API is the default (EWS URL authorization not selected) and
  does not support a hybrid Office 365 environment; a hybrid environment whose on-premises
  Exchange is older than Exchange 2016 CU3 (15.1.544.27) must authorize with the EWS URL, and
  Authorize with EWS URL needs the URL. Calendar integration through MAPI is for the Windows
  desktop client only, and only when the admin enabled MAPI and locked the setting. The admin
  enters the environment as account settings; the integration cannot see it from outside.

  Background:
    Given a meeting platform account owned by the admin of tenant "fabrikam"
    And the admin enables calendar and contacts integration

  @req:GRAPH-01 @needs:office365-graph
  Scenario: A new account authorizes Office 365 with Graph API, EWS URL not selected
    Then the account setting "authorize_with" is "graph"
    And the account setting "ews_url" is "(empty)"

  @req:HYBRID-01 @needs:office365-graph
  Scenario: Graph API refuses a hybrid Office 365 environment, and nothing changes
    When the admin tries to change the account settings:
      | setting               | value  |
      | office365_environment | hybrid |
    Then the change is refused with "graph_hybrid_unsupported" and a message containing "does not support a hybrid Office 365 environment"
    And the policy is unchanged

  @req:HYBRID-01 @req:HYBRID-03 @needs:office365-ews
  Scenario: A hybrid environment is accepted with Authorize with EWS URL and the URL
    When the admin changes the account settings:
      | setting               | value         |
      | office365_environment | hybrid        |
      | authorize_with        | ews           |
      | ews_url               | <hub EWS URL> |
    Then the change is accepted
    And the account setting "office365_environment" is "hybrid"

  @req:GRAPH-04 @needs:office365-ews
  Scenario: The Office 365 permissions are fixed while Authorize with EWS URL is selected, editable once it is unselected
    When the admin changes the account settings:
      | setting        | value         |
      | authorize_with | ews           |
      | ews_url        | <hub EWS URL> |
    Then the change is accepted
    When the admin tries to change the account settings:
      | setting             | value |
      | calendar_permission | write |
    Then the change is refused with "permissions_fixed_by_ews" and a message containing "cannot be changed while Authorize with EWS URL is selected"
    And the policy is unchanged
    When the admin changes the account settings:
      | setting             | value |
      | authorize_with      | graph |
      | calendar_permission | write |
    Then the change is accepted
    And the account setting "calendar_permission" is "write"
    And the account setting "authorize_with" is "graph"

  @req:HYBRID-02 @needs:office365-graph
  Scenario: A hybrid environment on Exchange 2016 CU2 cannot use Graph API and is told to use the EWS URL
    When the admin tries to change the account settings:
      | setting               | value       |
      | office365_environment | hybrid      |
      | exchange_onprem_build | 15.1.466.34 |
    Then the change is refused with "hybrid_exchange_before_cu3" and a message containing "older than Exchange 2016 CU3 (15.1.544.27): this hybrid Office 365 environment must authorize with the EWS URL"
    And the policy is unchanged

  @req:HYBRID-02 @needs:office365-ews
  Scenario: A hybrid environment on Exchange 2016 CU2 authorizes with the EWS URL
    When the admin changes the account settings:
      | setting               | value         |
      | office365_environment | hybrid        |
      | exchange_onprem_build | 15.1.466.34   |
      | authorize_with        | ews           |
      | ews_url               | <hub EWS URL> |
    Then the change is accepted
    And the account setting "exchange_onprem_build" is "15.1.466.34"

  @req:HYBRID-02 @req:HYBRID-01 @needs:office365-graph
  Scenario: Graph API is also refused with a hybrid server at Exchange 2016 CU3, without the CU3 reason
    When the admin tries to change the account settings:
      | setting               | value       |
      | office365_environment | hybrid      |
      | exchange_onprem_build | 15.1.544.27 |
    Then the change is refused with "graph_hybrid_unsupported" and a message containing "select Authorize with EWS URL"
    And the policy is unchanged

  @req:HYBRID-02 @needs:office365-graph
  Scenario: A hybrid server on Exchange 2016 CU23 is newer than CU3: builds compare as numbers, not text
    When the admin tries to change the account settings:
      | setting               | value       |
      | office365_environment | hybrid      |
      | exchange_onprem_build | 15.1.2507.6 |
    Then the change is refused with "graph_hybrid_unsupported" and a message containing "select Authorize with EWS URL"
    And the policy is unchanged

  @req:HYBRID-03 @needs:office365-ews
  Scenario: Authorize with EWS URL cannot be saved without the EWS URL
    When the admin tries to change the account settings:
      | setting        | value |
      | authorize_with | ews   |
    Then the change is refused with "ews_url_required" and a message containing "needs the EWS URL"
    And the policy is unchanged

  @req:MAPI-01 @req:MAPI-02 @req:EXCH-01 @needs:mapi
  Scenario: With MAPI enabled and locked, the Windows desktop client integrates Exchange through MAPI
    Given the admin sets "mapi" to "on" and locks it at the account level
    And the user is the first member of tenant "fabrikam"
    When the user tries to integrate Exchange through MAPI from the Windows desktop client
    Then the user's calendar is integrated through MAPI on the desktop

  @req:MAPI-02 @needs:mapi
  Scenario: MAPI locked by the user's group counts as locked
    Given the account has a group "Desktops" with the first member of tenant "fabrikam"
    And the admin sets "mapi" to "on" for the group "Desktops"
    And the admin locks "mapi" for the group "Desktops"
    And the user is the first member of tenant "fabrikam"
    When the user tries to integrate Exchange through MAPI from the Windows desktop client
    Then the user's calendar is integrated through MAPI on the desktop

  @req:MAPI-01 @req:MAPI-02 @needs:mapi
  Scenario Outline: MAPI integration is refused unless Windows, enabled and locked (<mapi>, <lock>, <platform>)
    Given the admin changes the account settings:
      | setting | value  |
      | mapi    | <mapi> |
    And the admin <lock>
    And the user is the first member of tenant "fabrikam"
    When the user tries to integrate Exchange through MAPI from the <platform> desktop client
    Then the MAPI integration is refused with a message containing "<failed>"
    And nothing changed

    Examples:
      | mapi | lock                              | platform | failed                                                    |
      | on   | locks "mapi" at the account level | Mac      | only on the Windows desktop client                        |
      | on   | locks "mapi" at the account level | Linux    | only on the Windows desktop client                        |
      | on   | leaves "mapi" unlocked            | Windows  | has not locked the MAPI setting                           |
      | off  | locks "mapi" at the account level | Windows  | has not enabled MAPI                                      |
      | off  | leaves "mapi" unlocked            | Mac      | Windows desktop client \| not enabled MAPI \| not locked |

  @req:MAPI-02 @needs:mapi
  Scenario: Turning MAPI off (still locked) withdraws the desktop integration
    Given the admin sets "mapi" to "on" and locks it at the account level
    And the user is the first member of tenant "fabrikam"
    When the user tries to integrate Exchange through MAPI from the Windows desktop client
    And the admin changes the account settings:
      | setting | value |
      | mapi    | off   |
    Then the integration status is "reintegration_required"
    And the integration status says "MAPI is no longer enabled and locked"

  @req:MAPI-02 @needs:mapi
  Scenario: Unlocking MAPI (still on) withdraws the desktop integration
    Given the admin sets "mapi" to "on" and locks it at the account level
    And the user is the first member of tenant "fabrikam"
    When the user tries to integrate Exchange through MAPI from the Windows desktop client
    Then the user's calendar is integrated through MAPI on the desktop
    When the admin unlocks "mapi" at the account level
    Then the account setting "mapi" is "on"
    And the integration status is "reintegration_required"
    And the integration status says "MAPI is no longer enabled and locked"
